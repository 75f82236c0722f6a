import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { CoreError } from "../errors.ts";
import type {
  FeatureRow,
  FeatureSchema,
} from "../preprocessing/preprocessor.ts";
import { trainModel } from "../training/train-model.ts";
import { TOOLKIT_VERSION } from "../version.ts";
import { canonicalJson } from "./canonical-json.ts";
import { parseModel, serializeModel } from "./model-file.ts";
import { parseCalendarDay } from "../calendar-day.ts";

const schema: FeatureSchema = {
  categorical_cols: ["plan"],
  numeric_cols: ["tenure", "fee"],
  boolean_cols: ["tv"],
};

/** 300 seeded users whose churn depends on tenure, plan and fee; a fifth have tv NULL. */
function users(): { rows: FeatureRow[]; labels: Uint8Array } {
  let s = 99;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const rows: FeatureRow[] = [];
  const labels = new Uint8Array(300);
  for (let i = 0; i < 300; i++) {
    const plan = ["basic", "plus", "none"][Math.floor(rnd() * 3)] as string;
    const tenure = Math.floor(rnd() * 72);
    const fee = 20 + rnd() * 80;
    rows.push({ plan, tenure, fee, tv: plan === "none" ? null : rnd() < 0.5 });
    labels[i] =
      (plan === "plus" ? 0.3 : 0) + fee / 200 - tenure / 100 + rnd() * 0.6 > 0.4
        ? 1
        : 0;
  }
  return { rows, labels };
}

async function train(jobs: number) {
  const { rows, labels } = users();
  return trainModel({
    rows,
    labels,
    schema,
    asOf: parseCalendarDay("2024-01-31"),
    datasetFingerprint: "sha256:test",
    forest: { nEstimators: 12 },
    jobs,
  });
}

describe("model file", () => {
  it("serialises byte-identically whatever --jobs, and round-trips with identical predictions", async () => {
    const one = await train(1);
    const two = await train(2);
    const text = serializeModel(one.model);
    expect(serializeModel(two.model)).toBe(text);
    expect(text.endsWith("}\n")).toBe(true);
    const loaded = parseModel(text);
    const { rows } = users();
    expect(Array.from(loaded.predictProba(rows))).toEqual(
      Array.from(one.model.predictProba(rows)),
    );
    expect(serializeModel(loaded)).toBe(text);
    const file = JSON.parse(text) as Record<string, unknown>;
    expect(file["format"]).toBe("streamflow.model");
    expect(file["formatVersion"]).toBe(1);
    expect(loaded.training).toMatchObject({
      asOf: "2024-01-31",
      labelAsOf: "2024-01-31",
      seed: 42,
      rows: 300,
    });
    expect(loaded.training.split).toEqual({
      testSize: 0.25,
      nTrain: 225,
      nVal: 75,
    });
    expect(loaded.training.metrics.auc).toBe(one.metrics.auc);
  }, 60_000);

  it("refuses a model too large for its JSON with MODEL_TOO_LARGE and how to bound it", async () => {
    const { model } = await train(1);
    // What V8 throws when JSON.stringify passes its longest string (~512 MiB), without building one.
    const tooLong = Object.create(model) as typeof model;
    tooLong.toFile = () =>
      ({
        toJSON: () => {
          throw new RangeError("Invalid string length");
        },
      }) as unknown as ReturnType<typeof model.toFile>;
    let error: unknown;
    try {
      serializeModel(tooLong);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      code: "MODEL_TOO_LARGE",
      details: { n_trees: model.forest.nTrees },
    });
    expect((error as CoreError).message).toContain("225 rows");
    expect((error as CoreError).hint).toMatch(/--max-depth/);
    // Any other failure is not taken for size.
    tooLong.toFile = () => {
      throw new TypeError("not size");
    };
    expect(() => serializeModel(tooLong)).toThrow(TypeError);
  }, 60_000);

  it("predicts every row, NULL booleans and unknown categories included, within [0, 1]", async () => {
    const { model } = await train(1);
    const odd: FeatureRow[] = [
      { plan: "none", tenure: 3, fee: 90, tv: null },
      { plan: "enterprise", tenure: null, fee: 55, tv: true },
    ];
    for (const p of model.predictProba(odd))
      expect(p >= 0 && p <= 1).toBe(true);
    expect(model.predictProbaRow(odd[0] as FeatureRow)).toBe(
      model.predictProba(odd)[0],
    );
    const importances = model.featureImportances();
    expect(importances.map((i) => i.name).sort()).toEqual(
      [...model.preprocessor.columnNames].sort(),
    );
  });

  it("rejects malformed and future-version files with MODEL_FORMAT_INVALID and a hint", async () => {
    const { model } = await train(1);
    const file = JSON.parse(serializeModel(model)) as Record<string, unknown>;
    const expectInvalid = (input: unknown, message: RegExp): void => {
      let error: CoreError | undefined;
      try {
        parseModel(input);
      } catch (e) {
        error = e as CoreError;
      }
      expect(error?.code).toBe("MODEL_FORMAT_INVALID");
      expect(error?.message).toMatch(message);
      expect(error?.hint).toBeTruthy();
    };
    expectInvalid("{ not json", /not valid JSON/);
    expectInvalid("[]", /JSON object/);
    expectInvalid(
      JSON.stringify({ ...file, format: "RFClassifier" }),
      /not a streamflow model/,
    );
    expectInvalid(
      JSON.stringify({ ...file, formatVersion: 2 }),
      /version 2 is newer/,
    );
    expectInvalid({ ...file, formatVersion: "1" }, /version "1" is not/);
    expectInvalid(
      {
        ...file,
        training: { ...(file["training"] as object), asOf: "31/01/2024" },
      },
      /training\.asOf/,
    );
    expectInvalid(
      { ...file, forest: { ...(file["forest"] as object), nodes: "@@@" } },
      /nodes/,
    );
    expectInvalid(
      { ...file, featureSchema: { ...schema, numeric_cols: ["fee"] } },
      /differ/,
    );
    const noForest: Record<string, unknown> = { ...file };
    delete noForest["forest"];
    expectInvalid(noForest, /forest/);
  });

  it("writes canonical JSON: keys sorted at every level", () => {
    expect(
      canonicalJson({ b: 1, a: { d: [3, { f: 1, e: 2 }], c: null } }),
    ).toBe('{"a":{"c":null,"d":[3,{"e":2,"f":1}]},"b":1}');
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(TypeError);
  });

  it("records the package version", () => {
    const pkg = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    expect(TOOLKIT_VERSION).toBe(pkg.version);
  });
});
