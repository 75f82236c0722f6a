import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCalendarDay, parseModel } from "@streamflow/core";
import { loadDataset, type Database } from "@streamflow/features";
import {
  createLocalRegistry,
  createPendingRunStore,
  type Registry,
} from "@streamflow/registry-client";
import {
  loadVerifiedModel,
  promote,
  sha256Hex,
  trainAndRegister,
} from "@streamflow/lifecycle";
import { generatedStore, testRecipe } from "./generated-store.ts";

const AS_OF = parseCalendarDay("2024-01-31");
const recipe = testRecipe;

let work: string;
let db: Database;
let registry: Registry;

beforeAll(async () => {
  ({ work, db } = await generatedStore({
    prefix: "sf-lifecycle-",
    users: 1500,
    months: 1,
    seed: 7,
  }));
  registry = createLocalRegistry({ root: join(work, "registry") });
});
afterAll(async () => {
  await registry?.close();
  await db?.close();
});

const journal = () => ({
  store: createPendingRunStore(join(work, "pending")),
  server: join(work, "registry"),
});

describe("trainAndRegister → promote, called as a library", () => {
  it("trains on the store, logs a FINISHED run with the model's sha256, registers a version the verified loader accepts", async () => {
    const outDir = join(work, "run-1");
    const { training, registered } = await trainAndRegister({
      db,
      registry,
      pendingRuns: journal(),
      asOf: AS_OF,
      recipe: recipe(),
      outDir,
      experiment: "lib",
      modelName: "churn_lib",
    });
    expect(registered).toMatchObject({
      modelName: "churn_lib",
      modelVersion: "1",
    });
    expect(training.rows).toBe(1500);
    expect(training.modelSha256).toBe(
      sha256Hex(await readFile(join(outDir, "model.json"), "utf8")),
    );
    const run = await registry.getRun(registered.runId);
    expect(run.info.status).toBe("FINISHED");
    expect(run.data.tags["streamflow.model_sha256"]).toBe(training.modelSha256);
    expect(run.data.tags["streamflow.feature_repository"]).toBe(
      training.repositoryHash,
    );
    expect(training.repositoryHash).toBe(db.layout.hash);
    expect(run.data.metrics["auc"]?.value).toBe(training.metrics.auc);

    const verified = await loadVerifiedModel({
      registry,
      version: await registry.getModelVersion("churn_lib", "1"),
    });
    expect(verified.sha256).toBe(training.modelSha256);
    const dataset = await loadDataset({ db, asOf: AS_OF });
    const rows = dataset.userIds
      .slice(0, 50)
      .map((_, i) =>
        Object.fromEntries(
          dataset.featureColumns.map((c, j) => [
            c.name,
            dataset.features[j]![i]!,
          ]),
        ),
      );
    expect(Array.from(verified.model.predictProba(rows))).toEqual(
      Array.from(parseModel(training.modelText).predictProba(rows)),
    );
  });

  it("promotes the newest FINISHED version, then refuses a weaker one with ifBetter and changes nothing", async () => {
    const first = await promote({
      registry,
      modelName: "churn_lib",
      candidate: { latest: true },
      stage: "Production",
    });
    expect(first).toMatchObject({
      promoted: true,
      candidate: { version: "1" },
      comparison: undefined,
      changes: [{ from: "None", to: "Production" }],
    });

    await trainAndRegister({
      db,
      registry,
      pendingRuns: journal(),
      asOf: AS_OF,
      recipe: recipe({ nEstimators: 1, maxDepth: 1 }),
      outDir: join(work, "run-2"),
      experiment: "lib",
      modelName: "churn_lib",
    });
    const second = await promote({
      registry,
      modelName: "churn_lib",
      candidate: { latest: true },
      stage: "Production",
      ifBetter: { metric: "auc", minDelta: 0.01, db },
    });
    expect(second.promoted).toBe(false);
    expect(second.candidate.version).toBe("2");
    expect(second.holder?.version).toBe("1");
    expect(second.changes).toEqual([]);
    expect(second.comparison!.rows).toBe(375);
    expect(second.comparison!.candidate).toBeLessThan(
      second.comparison!.current + 0.01,
    );
    expect(
      (await registry.getLatestVersions("churn_lib", ["Production"]))[0]
        ?.version,
    ).toBe("1");
  });

  it("ends the run FAILED and registers nothing when logging fails midway", async () => {
    // The real local registry with one call failing, as a full disk would make it.
    const failing = new Proxy(registry, {
      get: (target, key, receiver) => {
        if (key === "logArtifacts")
          return () => Promise.reject(new Error("disk full"));
        const value: unknown = Reflect.get(target, key, receiver);
        return typeof value === "function"
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
    await expect(
      trainAndRegister({
        db,
        registry: failing,
        pendingRuns: journal(),
        asOf: AS_OF,
        recipe: recipe({ nEstimators: 3 }),
        outDir: join(work, "run-3"),
        experiment: "lib-fail",
        modelName: "churn_fail",
      }),
    ).rejects.toThrow(/disk full/);
    const experiment = await registry.getOrCreateExperiment("lib-fail");
    const runs = await registry.searchRuns({
      experimentIds: [experiment.experimentId],
    });
    expect(runs.map((r) => r.info.status)).toEqual(["FAILED"]);
    expect(await registry.searchModelVersions({ name: "churn_fail" })).toEqual(
      [],
    );
  });
});
