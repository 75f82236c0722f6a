import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { labDataDir, labDataMissingReason } from "@streamflow/test-utils";
import { runCli } from "./run-cli.ts";

// `streamflow init` and `features show`, how commands take a repository file (the lab's, built in
// or as a file, gives the same bytes), and quickstart, the lab's demo, refusing another.

const OTHER = `version: 1
entity: { name: account, join_key: account_id }
sources:
  - name: plans
    columns:
      - { name: tier, type: text, allowed: [free, premium] }
  - name: outcomes
    columns:
      - { name: cancelled, type: boolean }
feature_views:
  - { name: plan_fv, source: plans, features: [tier], ttl_days: 30 }
label: { source: outcomes, column: cancelled }
`;

let cwd: string;
const env = () => ({
  STREAMFLOW_HOME: join(cwd, "home"),
  STREAMFLOW_DATABASE_URL: undefined,
  STREAMFLOW_FEATURES: undefined,
  STREAMFLOW_CONFIG: undefined,
  MLFLOW_TRACKING_URI: undefined,
});
const cli = (argv: string[], extraEnv: Record<string, string> = {}) =>
  runCli(argv, { ...env(), ...extraEnv }, cwd);

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), "sf-repository-"));
});

describe("streamflow init and features show", () => {
  it("shows the lab's built-in repository without a file, and the same one from the file init writes", async () => {
    const builtin = await cli(["features", "show", "--json"]);
    expect(builtin.exitCode, builtin.stderr).toBe(0);
    const b = builtin.json();
    expect(b).toMatchObject({ file: null, builtin: true, is_lab: true });
    expect(b["hash"]).toMatch(/^[0-9a-f]{64}$/);
    expect(b["repository"]).toMatchObject({
      entity: { name: "user", join_key: "user_id", max_key_length: 64 },
      label: { source: "labels", column: "churn_label" },
    });

    const init = await cli(["init", "--json"]);
    expect(init.exitCode, init.stderr).toBe(0);
    const path = join(cwd, "streamflow.features.yaml");
    expect(init.json()).toMatchObject({
      written: path,
      example: "lab",
      hash: b["hash"],
    });
    expect(await readFile(path, "utf8")).toContain("join_key: user_id");

    const fromFile = await cli(["features", "show", "--json"]);
    expect(fromFile.json()).toEqual({
      ...b,
      file: path,
      builtin: false,
    });
    const human = await cli(["features", "show"]);
    expect(human.stdout).toMatch(
      new RegExp(`^# ${path} · sha256 ${String(b["hash"])} \\(the lab's\\)\\n`),
    );
    expect(human.stdout).toContain(
      "snapshot_table: subscriptions_profile_snapshots",
    );
    // The lab's repository as a file runs every command as the built-in one does.
    const migrate = await cli(["db", "migrate", "--json"]);
    expect(migrate.exitCode, migrate.stderr).toBe(0);
  });

  it("init refuses to overwrite a file unless --force", async () => {
    const path = join(cwd, "streamflow.features.yaml");
    await writeFile(path, "mine\n");
    const again = await cli(["init"]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain(`${path} already exists`);
    expect(await readFile(path, "utf8")).toBe("mine\n");
    const forced = await cli(["init", "--force", "--json"]);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(await readFile(path, "utf8")).toContain("version: 1");
  });

  it("shows and migrates another repository from --features or STREAMFLOW_FEATURES; quickstart, the lab's demo, refuses it with exit 2 rather than run the lab's", async () => {
    await writeFile(join(cwd, "accounts.yaml"), OTHER);
    const shown = await cli([
      "features",
      "show",
      "--features",
      "accounts.yaml",
      "--json",
    ]);
    expect(shown.exitCode, shown.stderr).toBe(0);
    expect(shown.json()).toMatchObject({
      file: join(cwd, "accounts.yaml"),
      is_lab: false,
      repository: {
        entity: { join_key: "account_id", max_key_length: 64 },
        feature_views: [
          { name: "plan_fv", snapshot_table: "plans_snapshots", ttl_days: 30 },
        ],
      },
    });
    const byEnv = await cli(["features", "show", "--json"], {
      STREAMFLOW_FEATURES: "accounts.yaml",
    });
    expect(byEnv.json()["hash"]).toBe(shown.json()["hash"]);

    // The store derives its tables from the repository in force and records it.
    const migrated = await cli([
      "db",
      "migrate",
      "--features",
      "accounts.yaml",
      "--json",
    ]);
    expect(migrated.exitCode, migrated.stderr).toBe(0);
    expect(migrated.json()).toMatchObject({
      repository: { hash: shown.json()["hash"], change: "created" },
    });
    const again = await cli(["db", "migrate", "--json"], {
      STREAMFLOW_FEATURES: "accounts.yaml",
    });
    expect(again.json()).toMatchObject({ repository: { change: "unchanged" } });

    for (const argv of [["quickstart", "--features", "accounts.yaml"]]) {
      const refused = await cli([...argv, "--json"]);
      expect(refused.exitCode, argv.join(" ")).toBe(2);
      expect(refused.json()).toMatchObject({
        ok: false,
        error: { code: "USAGE", details: { file: join(cwd, "accounts.yaml") } },
      });
      expect(refused.stderr).toMatch(
        /other than the lab's, and this command runs the lab's demo only/,
      );
    }
  });

  it("refuses an invalid file with exit 2, naming file, line and key, in every command", async () => {
    const path = join(cwd, "streamflow.features.yaml");
    await writeFile(path, OTHER.replace("type: boolean", "type: bool"));
    for (const argv of [
      ["features", "show"],
      ["db", "migrate"],
    ]) {
      const r = await cli([...argv, "--json"]);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.json()).toMatchObject({
        ok: false,
        error: {
          code: "REPOSITORY_INVALID",
          details: { file: path, key: "sources[1].columns[0].type", line: 9 },
        },
      });
    }
    const missing = await cli(["features", "show", "--features", "nope.yaml"]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(
      /cannot read feature repository .*nope\.yaml.*--features/,
    );
    // init does not read the repository it is about to replace.
    const fixed = await cli(["init", "--force"]);
    expect(fixed.exitCode, fixed.stderr).toBe(0);
  });
});

const labMissing = labDataMissingReason();

/**
 * Ingests two months, builds the first month's dataset and trains on it, in a home of its own,
 * with the lab's repository built in or as the file init writes: what the results are made of.
 */
async function labRun(
  months: string,
  features: "builtin" | "file",
): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), `sf-lab-${features}-`));
  const env = {
    STREAMFLOW_HOME: join(dir, "home"),
    STREAMFLOW_DATABASE_URL: undefined,
    STREAMFLOW_FEATURES: undefined,
    STREAMFLOW_CONFIG: undefined,
    MLFLOW_TRACKING_URI: undefined,
  };
  const ok = async (...argv: string[]) => {
    const r = await runCli([...argv, "--json"], env, dir);
    expect(r.exitCode, `${argv.join(" ")}\n${r.stderr}`).toBe(0);
    return r.json();
  };
  if (features === "file") {
    await ok("init");
    expect((await ok("features", "show"))["file"]).toBe(
      join(dir, "streamflow.features.yaml"),
    );
  }
  for (const [month, asOf] of [
    ["month_000", "2024-01-31"],
    ["month_001", "2024-02-29"],
  ] as const)
    await ok("ingest", "--month-dir", join(months, month), "--as-of", asOf);
  const dataset = await ok(
    "build-dataset",
    "--as-of",
    "2024-02-29",
    "--label-as-of",
    "2024-02-29",
    "--out",
    "train.csv",
  );
  const trained = await ok(
    "train",
    "--as-of",
    "2024-01-31",
    "--n-estimators",
    "30",
  );
  return {
    fingerprint: dataset["fingerprint"],
    csv: await readFile(join(dir, "train.csv"), "utf8"),
    datasetFingerprint: trained["dataset_fingerprint"],
    modelSha256: trained["model_sha256"],
  };
}

describe("the lab's repository as a file", () => {
  it("gives byte-identical datasets and models to the built-in one on generated months", async () => {
    const data = await mkdtemp(join(tmpdir(), "sf-lab-data-"));
    const generated = await runCli(
      ["generate-data", "--users", "600", "--out", data, "--json"],
      { STREAMFLOW_FEATURES: undefined, STREAMFLOW_HOME: join(data, "h") },
      data,
    );
    expect(generated.exitCode, generated.stderr).toBe(0);
    const builtin = await labRun(data, "builtin");
    expect(builtin["modelSha256"]).toMatch(/^[0-9a-f]{64}$/);
    expect(await labRun(data, "file")).toEqual(builtin);
  });

  it.skipIf(labMissing !== undefined)(
    `gives byte-identical datasets and models to the built-in one on the lab's months${labMissing ? ` — SKIPPED: ${labMissing}` : ""}`,
    async () => {
      const builtin = await labRun(labDataDir(), "builtin");
      expect(await labRun(labDataDir(), "file")).toEqual(builtin);
    },
  );
});
