import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsFromColumns } from "@streamflow/core";
import { buildDataset, loadDataset, type Database } from "@streamflow/features";
import {
  createMlflowClient,
  createPendingRunStore,
  type Registry,
} from "@streamflow/registry-client";
import {
  MLFLOW_LINES,
  REPO_ROOT,
  startMlflowServer,
  type MlflowServer,
} from "@streamflow/test-utils";
import {
  loadVerifiedModel,
  promote,
  trainAndRegister,
} from "@streamflow/lifecycle";
import { generatedStore, testRecipe } from "./generated-store.ts";
import { parseCalendarDay } from "@streamflow/core";

const run = promisify(execFile);
const JAN = parseCalendarDay("2024-01-31");
const FEB = parseCalendarDay("2024-02-29");
const SCRIPT = join(import.meta.dirname, "python", "pyfunc_from_registry.py");

let work: string;
let db: Database;
let rawCsv: string;

beforeAll(async () => {
  ({ work, db } = await generatedStore({
    prefix: "sf-python-",
    users: 800,
    months: 2,
    seed: 5,
  }));
  // A month of raw features as a user would hand them to MLflow: build-dataset's CSV.
  rawCsv = (await buildDataset({ db, asOf: FEB, out: join(work, "feb.csv") }))
    .out;
});
afterAll(() => db?.close());

describe.each(MLFLOW_LINES)(
  "a registered model in Python, MLflow %s.x",
  (line) => {
    let server: MlflowServer;
    let registry: Registry;
    let python: string;
    const name = `churn_py${line}`;
    const env = () => ({
      ...process.env,
      MLFLOW_TRACKING_URI: server.url,
      PATH: `${dirname(python)}:${process.env["PATH"] ?? ""}`,
    });

    beforeAll(async () => {
      server = await startMlflowServer({ line });
      registry = createMlflowClient({ trackingUri: server.url });
      python = join(
        REPO_ROOT,
        ".cache",
        `mlflow-venv-${line}`,
        "bin",
        "python",
      );
      const pendingRuns = {
        store: createPendingRunStore(join(work, `pending-${line}`)),
        server: server.url,
      };
      const recipe = testRecipe({ nEstimators: 40 });
      await trainAndRegister({
        db,
        registry,
        pendingRuns,
        asOf: JAN,
        recipe,
        outDir: join(work, `run-${line}`),
        experiment: "python",
        modelName: name,
      });
      await promote({
        registry,
        modelName: name,
        candidate: { version: "1" },
        stage: "Production",
      });
    });
    afterAll(async () => {
      await registry?.close();
      await server?.stop();
    });

    /** predictProba of the registered model on the CSV's rows, in its order (user_id order). */
    async function expected(): Promise<Float64Array> {
      const { model } = await loadVerifiedModel({
        registry,
        version: await registry.getModelVersion(name, "1"),
      });
      const ds = await loadDataset({ db, asOf: FEB });
      return model.predictProba(
        rowsFromColumns({
          names: ds.featureColumns.map((c) => c.name),
          columns: ds.features,
        }),
      );
    }
    const labelsOf = (p: Float64Array) =>
      Array.from(p, (v) => (v > 0.5 ? 1 : 0));
    const maxDiff = (a: readonly number[], b: Float64Array) =>
      a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

    it(`mlflow.pyfunc.load_model("models:/${name}/Production") scores every row as predictProba does`, async () => {
      const out = join(work, `pyfunc-${line}.json`);
      await run(python, [SCRIPT, `models:/${name}/Production`, rawCsv, out], {
        cwd: work,
        env: env(),
        timeout: 240_000,
      });
      const got = JSON.parse(await readFile(out, "utf8")) as {
        label: number[];
        p_churn: number[];
        mlflow: string;
      };
      const want = await expected();
      expect(got.mlflow.startsWith(`${line}.`)).toBe(true);
      expect(got.p_churn).toHaveLength(800);
      expect(maxDiff(got.p_churn, want)).toBeLessThanOrEqual(1e-6);
      expect(got.label).toEqual(labelsOf(want));
    });

    it("`mlflow models predict` scores the raw CSV from the registry", async () => {
      const out = join(work, `predict-${line}.json`);
      await run(
        join(dirname(python), "mlflow"),
        [
          "models",
          "predict",
          "-m",
          `models:/${name}/Production`,
          "-i",
          rawCsv,
          "-t",
          "csv",
          "-o",
          out,
          "--env-manager",
          "local",
        ],
        { cwd: work, env: env(), timeout: 240_000 },
      );
      const text = await readFile(out, "utf8");
      const predictions = (
        JSON.parse(text) as {
          predictions: { label: number; p_churn: number }[];
        }
      ).predictions;
      const want = await expected();
      expect(
        maxDiff(
          predictions.map((p) => p.p_churn),
          want,
        ),
      ).toBeLessThanOrEqual(1e-6);
      expect(predictions.map((p) => p.label)).toEqual(labelsOf(want));
    });
  },
);
