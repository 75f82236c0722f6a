import { describe, expect, it } from "vitest";
import type { FeaturesError } from "../errors.ts";
import { parseFeatureRepository } from "./parse-repository.ts";

// A repository of another shape than the lab's: another key, a Parquet source, allowed values, a
// date, a nullable double with bounds, a label of another name, a view with a ttl.
const ACCOUNTS = `version: 1
entity: { name: account, join_key: account_id, max_key_length: 20 }
sources:
  - name: plans
    file: plans.parquet
    columns:
      - { name: tier, type: text, allowed: [free, basic, premium] }
      - { name: renewed_on, type: date }
      - { name: discount, type: double, nullable: true, min: 0, max: 1 }
  - name: accounts
    entity_table: true
    columns:
      - { name: region, type: text, max_length: 8 }
  - name: outcomes
    columns:
      - { name: cancelled, type: boolean }
feature_views:
  - name: plan_fv
    source: plans
    features: [tier, discount]
    ttl_days: 45
label: { source: outcomes, column: cancelled }
model: { categorical: [tier] }
`;

function refusal(text: string): FeaturesError {
  try {
    parseFeatureRepository(text, { file: "repo.yaml" });
  } catch (e) {
    return e as FeaturesError;
  }
  throw new Error("expected the repository to be refused");
}

/** ACCOUNTS with one line replaced. */
const edit = (from: string, to: string) => {
  expect(ACCOUNTS).toContain(from);
  return ACCOUNTS.replace(from, to);
};

describe("parseFeatureRepository", () => {
  it("resolves a repository of another shape, defaults applied and the entity's table first", () => {
    const repo = parseFeatureRepository(ACCOUNTS, { file: "repo.yaml" });
    expect(repo.entity).toEqual({
      name: "account",
      joinKey: "account_id",
      maxKeyLength: 20,
    });
    expect(
      repo.sources.map((s) => [s.name, s.file, s.format, s.entityTable]),
    ).toEqual([
      ["accounts", "accounts.csv", "csv", true],
      ["plans", "plans.parquet", "parquet", false],
      ["outcomes", "outcomes.csv", "csv", false],
    ]);
    expect(repo.sources[1]!.columns).toEqual([
      {
        name: "tier",
        type: "text",
        nullable: false,
        min: undefined,
        max: undefined,
        allowed: ["free", "basic", "premium"],
        maxLength: 256,
      },
      {
        name: "renewed_on",
        type: "date",
        nullable: false,
        min: undefined,
        max: undefined,
        allowed: undefined,
        maxLength: 64,
      },
      {
        name: "discount",
        type: "double",
        nullable: true,
        min: 0,
        max: 1,
        allowed: undefined,
        maxLength: 64,
      },
    ]);
    expect(repo.sources[0]!.columns[0]!.maxLength).toBe(8);
    expect(repo.featureViews).toEqual([
      {
        name: "plan_fv",
        source: "plans",
        snapshotTable: "plans_snapshots",
        features: ["tier", "discount"],
        ttlDays: 45,
      },
    ]);
    expect(repo.label).toEqual({
      source: "outcomes",
      column: "cancelled",
      snapshotTable: "outcomes_snapshots",
    });
    expect(repo.model.categorical).toEqual(["tier"]);
  });

  it.each([
    // [what is wrong, edit, key, line, message]
    [
      "an unknown type",
      ["type: date }", "type: datetime }"],
      "sources[0].columns[1].type",
      8,
      /Invalid option: expected one of "text"\|"integer"/,
    ],
    [
      "an unknown key",
      ["    entity_table: true", "    entity_tabel: true"],
      "sources[1]",
      10,
      /Unrecognized key: "entity_tabel"/,
    ],
    [
      "a name that is no SQL identifier",
      ["name: region,", "name: Region,"],
      "sources[1].columns[0].name",
      13,
      /lower-case SQL identifier/,
    ],
    [
      "a feature its source does not have",
      ["features: [tier, discount]", "features: [tier, discont]"],
      "feature_views[0].features[1]",
      20,
      /source 'plans' has no column 'discont'; it has tier, renewed_on, discount/,
    ],
    [
      "a view of an undeclared source",
      ["    source: plans\n", "    source: plan\n"],
      "feature_views[0].source",
      19,
      /no source named 'plan'/,
    ],
    [
      "a label that is not boolean",
      ["column: cancelled }", "column: region }"],
      "label.column",
      22,
      /source 'outcomes' has no column 'region'/,
    ],
    [
      "a non-boolean label column",
      [
        "{ name: cancelled, type: boolean }",
        "{ name: cancelled, type: integer }",
      ],
      "label.column",
      22,
      /the label must be a boolean column; 'cancelled' is integer/,
    ],
    [
      "bounds on text",
      ["type: text, max_length: 8 }", "type: text, min: 1 }"],
      "sources[1].columns[0].min",
      13,
      /min and max apply to integer and double columns/,
    ],
    [
      "min above max",
      ["min: 0, max: 1", "min: 2, max: 1"],
      "sources[0].columns[2].min",
      9,
      /min 2 is above max 1/,
    ],
    [
      "allowed values on a number",
      ["nullable: true, min: 0", "nullable: true, allowed: [x], min: 0"],
      "sources[0].columns[2].allowed",
      9,
      /allowed values apply to text columns/,
    ],
    [
      "the join key among the columns",
      ["name: region, type: text", "name: account_id, type: text"],
      "sources[1].columns[0].name",
      13,
      /the entity's join key/,
    ],
    [
      "a Parquet file declared as CSV",
      ["file: plans.parquet", "file: plans.parquet\n    format: csv"],
      "sources[0].file",
      5,
      /does not end in \.csv/,
    ],
    [
      "a categorical that is no feature",
      ["categorical: [tier]", "categorical: [region]"],
      "model.categorical[0]",
      23,
      /'region' is not a feature of any view/,
    ],
    [
      "an SQL keyword as a column",
      ["name: region, type: text", "name: order, type: text"],
      "sources[1].columns[0].name",
      13,
      /is an SQL keyword, which PostgreSQL does not take as a table or column name/,
    ],
    [
      "a join key the service's answers use",
      ["join_key: account_id", "join_key: model"],
      "entity.join_key",
      2,
      /'model' is a field of the prediction service's answers/,
    ],
    [
      "an entity name too long for the online table",
      ["name: account,", `name: ${"a".repeat(50)},`],
      "entity.name",
      2,
      /makes the online table 'online_a+_features', longer than PostgreSQL's 63-character names/,
    ],
    [
      "a feature named as the store's own scoring flag",
      ["name: region, type: text", "name: scored, type: text"],
      "sources[1].columns[0].name",
      13,
      /'scored' is a column the store adds itself/,
    ],
    [
      "an empty allowed value",
      ["allowed: [free, basic, premium]", 'allowed: [free, "", premium]'],
      "sources[0].columns[0].allowed[1]",
      7,
      /an empty allowed value cannot be told from NULL/,
    ],
    [
      "an allowed value longer than max_length",
      [
        "allowed: [free, basic, premium]",
        "allowed: [free, basic, premium], max_length: 5",
      ],
      "sources[0].columns[0].allowed[2]",
      7,
      /allowed value 'premium' is longer than the column's max_length 5/,
    ],
    [
      "an integer bound beyond 32 bits",
      ["type: text, max_length: 8 }", "type: integer, max: 3000000000 }"],
      "sources[1].columns[0].max",
      13,
      /outside the 32-bit integers it holds/,
    ],
    [
      "a label snapshot table of the store's own",
      [
        "label: { source: outcomes, column: cancelled }",
        "label: { source: outcomes, column: cancelled, snapshot_table: ingestions }",
      ],
      "label.snapshot_table",
      22,
      /'ingestions' is a table of the store itself/,
    ],
    [
      "a date as a feature",
      ["features: [tier, discount]", "features: [tier, renewed_on]"],
      "feature_views[0].features[1]",
      20,
      /'renewed_on' is a date, which a model cannot read/,
    ],
    [
      "a double declared categorical",
      ["categorical: [tier]", "categorical: [discount]"],
      "model.categorical[0]",
      23,
      /'discount' is double: only a text or integer feature can be one-hot encoded/,
    ],
    [
      "a wrong version",
      ["version: 1", "version: 2"],
      "version",
      1,
      /expected 1/,
    ],
  ] as const)(
    "refuses %s, naming the key and its line",
    (_what, [from, to], key, line, message) => {
      const e = refusal(edit(from, to));
      expect(e.code).toBe("REPOSITORY_INVALID");
      expect(e.details).toEqual({ file: "repo.yaml", key, line });
      expect(e.message).toContain(`repo.yaml:${line}, ${key}: `);
      expect(e.message).toMatch(message);
      expect(e.hint).toMatch(/streamflow init --example lab/);
    },
  );

  it("refuses a file that is not YAML, and a key given twice, with the line", () => {
    const broken = refusal("version: 1\nentity: [unclosed\n");
    expect(broken.code).toBe("REPOSITORY_INVALID");
    expect(broken.details?.["line"]).toBeGreaterThanOrEqual(2);
    const twice = refusal(`${ACCOUNTS}version: 1\n`);
    expect(twice.message).toMatch(/Map keys must be unique/);
  });

  // nope, nada, and the categorical tier no view serves any more.
  it("counts the problems it does not spell out", () => {
    const e = refusal(
      edit("features: [tier, discount]", "features: [nope, nada]"),
    );
    expect(e.message).toMatch(/no column .nope.*\(and 2 more problems\)$/);
  });
});
