import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ATTEMPT_ID_TAG,
  LOG_BATCH_LIMITS,
  RegistryError,
  createPendingRunStore,
  endPendingRuns,
  newAttemptId,
  type Registry,
} from "@streamflow/registry-client";

/** Expects `promise` to reject with a RegistryError of `code`; returns it for further checks. */
export async function expectRegistryError(
  promise: Promise<unknown>,
  code: RegistryError["code"],
): Promise<RegistryError> {
  const error: unknown = await promise.then(
    () => new Error("expected a rejection"),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RegistryError);
  expect((error as RegistryError).code, (error as Error).message).toBe(code);
  return error as RegistryError;
}

let counter = 0;
/** Names unique per test, so tests sharing one server never see each other's models. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}_${Date.now().toString(36)}_${counter}`;
}

const MODEL_JSON = `{"format":"streamflow.model"}\n`;
const MLMODEL =
  "artifact_path: model\nflavors:\n  streamflow:\n    data: model.json\n";
const MODEL_BYTES = Buffer.from(
  Array.from({ length: 4096 }, (_, i) => (i * 7 + 3) % 256),
);

/** A model folder with a nested file, as `streamflow train` will log it. */
export async function writeModelFolder(dir: string): Promise<void> {
  await mkdir(join(dir, "model", "extra"), { recursive: true });
  await writeFile(join(dir, "model", "MLmodel"), MLMODEL);
  await writeFile(join(dir, "model", "model.json"), MODEL_JSON);
  await writeFile(join(dir, "model", "extra", "weights.bin"), MODEL_BYTES);
}

export interface ContractContext {
  /** A registry for the test; a second call gives a second, independent instance on the same store. */
  open(): Registry;
}

/**
 * Behaviour every Registry must show, run against real MLflow servers of each line and against
 * the local registry: same calls, same results, same error codes.
 */
export function registryContract(context: () => ContractContext): void {
  let registry: Registry;
  let work: string;

  beforeAll(async () => {
    registry = context().open();
    work = await mkdtemp(join(tmpdir(), "sf-registry-contract-"));
    await writeModelFolder(work);
  });
  afterAll(async () => {
    await registry.close();
    await rm(work, { recursive: true, force: true });
  });

  async function newRun(
    runName = "rf_baseline_2024-01-31",
  ): Promise<{ experimentId: string; runId: string; artifactUri: string }> {
    const experiment = await registry.getOrCreateExperiment(unique("exp"));
    const run = await registry.createRun({
      experimentId: experiment.experimentId,
      runName,
      tags: { "streamflow.test": "yes" },
    });
    return {
      experimentId: experiment.experimentId,
      runId: run.info.runId,
      artifactUri: run.info.artifactUri,
    };
  }

  describe("experiments", () => {
    it("get-or-create returns the same experiment, also when two callers race", async () => {
      const name = unique("streamflow");
      expect(await registry.getExperimentByName(name)).toBeUndefined();
      const [a, b] = await Promise.all([
        registry.getOrCreateExperiment(name),
        context().open().getOrCreateExperiment(name),
      ]);
      expect(a.experimentId).toBe(b.experimentId);
      expect(a.name).toBe(name);
      expect((await registry.getOrCreateExperiment(name)).experimentId).toBe(
        a.experimentId,
      );
      expect((await registry.getExperiment(a.experimentId)).name).toBe(name);
      await expectRegistryError(
        registry.createExperiment({ name }),
        "REGISTRY_CONFLICT",
      );
    });
  });

  describe("runs", () => {
    it("keeps params, metrics and tags through a run's lifecycle", async () => {
      const { runId, experimentId } = await newRun();
      const t0 = new Date("2024-01-31T12:00:00Z");
      await registry.logBatch({
        runId,
        params: { as_of: "2024-01-31", n_estimators: "300" },
        tags: { "streamflow.model_sha256": "abc" },
        metrics: [
          { key: "auc", value: 0.61, timestamp: t0, step: 0 },
          {
            key: "auc",
            value: 0.63,
            timestamp: new Date(t0.getTime() + 1000),
            step: 1,
          },
          { key: "log_loss", value: NaN },
        ],
      });
      const run = await registry.getRun(runId);
      expect(run.info.status).toBe("RUNNING");
      expect(run.info.runName).toBe("rf_baseline_2024-01-31");
      expect(run.data.params).toEqual({
        as_of: "2024-01-31",
        n_estimators: "300",
      });
      expect(run.data.tags).toMatchObject({
        "streamflow.model_sha256": "abc",
        "streamflow.test": "yes",
        "mlflow.runName": "rf_baseline_2024-01-31",
      });
      expect(run.data.metrics["auc"]).toMatchObject({ value: 0.63, step: 1 });
      expect(Number.isNaN(run.data.metrics["log_loss"]?.value)).toBe(true);
      expect(
        (await registry.getMetricHistory(runId, "auc")).map((m) => m.value),
      ).toEqual([0.61, 0.63]);

      // Params are write-once, on the server and locally alike.
      await expectRegistryError(
        registry.logBatch({ runId, params: { as_of: "2024-02-29" } }),
        "REGISTRY_INVALID_REQUEST",
      );
      await registry.logBatch({ runId, params: { as_of: "2024-01-31" } });

      const ended = await registry.terminateRun(runId, "FAILED");
      expect(ended.status).toBe("FAILED");
      expect(ended.endTime).toBeInstanceOf(Date);
      const found = await registry.searchRuns({
        experimentIds: [experimentId],
        filter: { tags: { "streamflow.test": "yes" }, status: "FAILED" },
      });
      expect(found.map((r) => r.info.runId)).toEqual([runId]);
      expect(
        await registry.searchRuns({
          experimentIds: [experimentId],
          filter: { runName: "nope" },
        }),
      ).toEqual([]);
      await expectRegistryError(
        registry.getRun("0123456789abcdef0123456789abcdef"),
        "REGISTRY_NOT_FOUND",
      );
    });

    it("logs more params, tags and metrics than one request may carry", async () => {
      const { runId } = await newRun();
      const params = Object.fromEntries(
        Array.from({ length: LOG_BATCH_LIMITS.maxParams * 2 + 50 }, (_, i) => [
          `p${i}`,
          `v${i}`,
        ]),
      );
      const tags = Object.fromEntries(
        Array.from({ length: LOG_BATCH_LIMITS.maxTags + 20 }, (_, i) => [
          `t${i}`,
          `w${i}`,
        ]),
      );
      const t0 = Date.UTC(2024, 0, 31);
      const metrics = Array.from(
        { length: LOG_BATCH_LIMITS.maxMetrics * 2 + 300 },
        (_, i) => ({
          key: "loss",
          value: 1 / (i + 1),
          timestamp: new Date(t0 + i),
          step: i,
        }),
      );
      await registry.logBatch({ runId, params, tags, metrics });
      const run = await registry.getRun(runId);
      expect(Object.keys(run.data.params)).toHaveLength(250);
      expect(run.data.params["p249"]).toBe("v249");
      expect(run.data.tags["t119"]).toBe("w119");
      const history = await registry.getMetricHistory(runId, "loss");
      expect(history).toHaveLength(2300);
      expect(history.map((m) => m.step).sort((a, b) => a - b)).toEqual(
        metrics.map((m) => m.step),
      );
    });

    it("records a logged model on the run, as the 2.x runs table reads it", async () => {
      const { runId } = await newRun();
      const record = {
        artifact_path: "model",
        flavors: { streamflow: { data: "model.json" } },
        utc_time_created: "2024-01-31 12:00:00.000000",
        run_id: runId,
      };
      await registry.recordLoggedModel(runId, record);
      const history = JSON.parse(
        (await registry.getRun(runId)).data.tags["mlflow.log-model.history"] ??
          "[]",
      ) as unknown[];
      expect(history).toEqual([
        expect.objectContaining({ artifact_path: "model", run_id: runId }),
      ]);
    });

    it("does not duplicate a metric point when a batch is sent again", async () => {
      const { runId } = await newRun();
      const batch = {
        runId,
        metrics: [
          {
            key: "auc",
            value: 0.7,
            timestamp: new Date(Date.UTC(2024, 0, 31)),
            step: 3,
          },
        ],
      };
      await registry.logBatch(batch);
      await registry.logBatch(batch);
      expect(await registry.getMetricHistory(runId, "auc")).toHaveLength(1);
    });
  });

  describe("artifacts", () => {
    it("round-trips a folder with a nested file, byte for byte", async () => {
      const { runId } = await newRun();
      await registry.logArtifacts({
        runId,
        localDir: join(work, "model"),
        artifactPath: "model",
      });
      await registry.logArtifact({
        runId,
        localPath: join(work, "model", "MLmodel"),
        artifactPath: "copies",
      });
      await registry.logArtifactContent({
        runId,
        path: "metrics.json",
        content: '{"auc":0.63}\n',
      });

      expect(
        (await registry.listArtifacts({ runId })).map((f) => [f.path, f.isDir]),
      ).toEqual([
        ["copies", true],
        ["metrics.json", false],
        ["model", true],
      ]);
      const model = await registry.listArtifacts({ runId, path: "model" });
      expect(model.map((f) => [f.path, f.isDir, f.fileSize])).toEqual([
        ["model/MLmodel", false, MLMODEL.length],
        ["model/extra", true, undefined],
        ["model/model.json", false, Buffer.byteLength(MODEL_JSON)],
      ]);

      const dest = join(work, `download-${runId}`);
      const local = await registry.downloadArtifacts({
        runId,
        path: "model",
        destDir: dest,
      });
      expect(local).toBe(join(dest, "model"));
      expect(await readFile(join(local, "extra", "weights.bin"))).toEqual(
        MODEL_BYTES,
      );
      expect(await readFile(join(local, "MLmodel"), "utf8")).toBe(MLMODEL);
      const file = await registry.downloadArtifacts({
        runId,
        path: "metrics.json",
        destDir: dest,
      });
      expect(await readFile(file, "utf8")).toBe('{"auc":0.63}\n');
      await expectRegistryError(
        registry.downloadArtifacts({
          runId,
          path: "missing.txt",
          destDir: dest,
        }),
        "REGISTRY_NOT_FOUND",
      );
      await expectRegistryError(
        registry.listArtifacts({ runId, path: "../escape" }),
        "REGISTRY_INVALID_REQUEST",
      );
    });
  });

  describe("model registry", () => {
    let name: string;
    let runIds: string[];
    let sources: string[];

    beforeAll(async () => {
      name = unique("streamflow_churn");
      runIds = [];
      sources = [];
      for (let i = 0; i < 2; i += 1) {
        const { runId, artifactUri } = await newRun(`candidate_${i}`);
        await registry.logArtifacts({
          runId,
          localDir: join(work, "model"),
          artifactPath: "model",
        });
        await registry.logArtifactContent({
          runId,
          path: "model/which.txt",
          content: `run ${i}`,
        });
        runIds.push(runId);
        sources.push(`${artifactUri}/model`);
      }
      const model = await registry.getOrCreateRegisteredModel(name);
      expect(model.name).toBe(name);
      expect((await registry.getOrCreateRegisteredModel(name)).name).toBe(name);
      for (let i = 0; i < 2; i += 1) {
        const v = await registry.createModelVersion({
          name,
          source: sources[i]!,
          runId: runIds[i]!,
        });
        expect(v).toMatchObject({
          name,
          version: String(i + 1),
          currentStage: "None",
          runId: runIds[i],
          source: sources[i],
          status: "READY",
        });
      }
    });

    it("moves stages, archiving the versions already there", async () => {
      await registry.transitionModelVersionStage({
        name,
        version: "1",
        stage: "Production",
      });
      const moved = await registry.transitionModelVersionStage({
        name,
        version: "2",
        stage: "production",
        archiveExistingVersions: true,
      });
      expect(moved.currentStage).toBe("Production");
      expect((await registry.getModelVersion(name, "1")).currentStage).toBe(
        "Archived",
      );
      expect(
        (await registry.getLatestVersions(name, ["Production"])).map(
          (v) => v.version,
        ),
      ).toEqual(["2"]);
      expect(
        (await registry.searchModelVersions({ name })).map((v) => [
          v.version,
          v.currentStage,
        ]),
      ).toEqual([
        ["2", "Production"],
        ["1", "Archived"],
      ]);
      await expectRegistryError(
        registry.transitionModelVersionStage({
          name,
          version: "1",
          stage: "Archived",
          archiveExistingVersions: true,
        }),
        "REGISTRY_INVALID_REQUEST",
      );
    });

    it("sets, reads and deletes aliases", async () => {
      await registry.setRegisteredModelAlias({
        name,
        alias: "champion",
        version: "1",
      });
      expect(
        (await registry.getModelVersionByAlias(name, "champion")).version,
      ).toBe("1");
      expect((await registry.getRegisteredModel(name)).aliases).toEqual({
        champion: "1",
      });
      expect((await registry.getModelVersion(name, "1")).aliases).toEqual([
        "champion",
      ]);
      expect(
        (await registry.searchModelVersions({ name })).find(
          (v) => v.version === "1",
        )?.aliases,
      ).toEqual(["champion"]);
      await registry.setRegisteredModelAlias({
        name,
        alias: "challenger",
        version: "2",
      });
      await registry.deleteRegisteredModelAlias(name, "challenger");
      const missing = await expectRegistryError(
        registry.getModelVersionByAlias(name, "challenger"),
        "REGISTRY_NOT_FOUND",
      );
      expect(missing.message).toContain("@champion → 1");
      await expectRegistryError(
        registry.setRegisteredModelAlias({ name, alias: "v3", version: "1" }),
        "REGISTRY_INVALID_REQUEST",
      );
    });

    it("resolves and downloads models:/ and runs:/ URIs", async () => {
      await registry.transitionModelVersionStage({
        name,
        version: "2",
        stage: "Production",
        archiveExistingVersions: true,
      });
      await registry.setRegisteredModelAlias({
        name,
        alias: "champion",
        version: "1",
      });
      const cases: [string, string, string | undefined][] = [
        [`models:/${name}/Production`, "run 1", "2"],
        [`models:/${name}/1`, "run 0", "1"],
        [`models:/${name}@champion`, "run 0", "1"],
        [`models:/${name}/latest`, "run 1", "2"],
        [`runs:/${runIds[0]}/model`, "run 0", undefined],
      ];
      for (const [uri, which, version] of cases) {
        const resolved = await registry.resolveArtifactLocation(uri);
        expect(resolved.modelVersion?.version, uri).toBe(version);
        const dest = join(work, `dl-${unique("m")}`);
        const result = await registry.downloadModel(uri, dest);
        expect(result.localPath).toBe(dest);
        expect(await readFile(join(dest, "which.txt"), "utf8"), uri).toBe(
          which,
        );
        expect(await readFile(join(dest, "MLmodel"), "utf8")).toBe(MLMODEL);
        expect(await readFile(join(dest, "extra", "weights.bin"))).toEqual(
          MODEL_BYTES,
        );
      }
    });

    it("names what exists when something does not", async () => {
      const model = await expectRegistryError(
        registry.getRegisteredModel(unique("no_such_model")),
        "REGISTRY_NOT_FOUND",
      );
      expect(model.message).toContain(name);
      const version = await expectRegistryError(
        registry.getModelVersion(name, "99"),
        "REGISTRY_NOT_FOUND",
      );
      expect(version.message).toMatch(
        /versions of '.*': 2 \(Production\), 1 \(Archived, @champion\)/,
      );
      await expectRegistryError(
        registry.resolveArtifactLocation(`models:/${name}/Staging`),
        "REGISTRY_NOT_FOUND",
      );
      await expectRegistryError(
        registry.downloadModel(
          `models:/${unique("ghost")}/1`,
          join(work, "never"),
        ),
        "REGISTRY_NOT_FOUND",
      );
      await expectRegistryError(
        registry.resolveArtifactLocation(`models:/${name}/Champion`),
        "REGISTRY_URI_INVALID",
      );
      await expectRegistryError(
        registry.createRegisteredModel({ name }),
        "REGISTRY_CONFLICT",
      );
    });

    it("leaves exactly one version in Production when two promotions race", async () => {
      const other = context().open();
      try {
        for (let round = 0; round < 3; round += 1) {
          await Promise.all([
            registry.transitionModelVersionStage({
              name,
              version: "1",
              stage: "Production",
              archiveExistingVersions: true,
            }),
            other.transitionModelVersionStage({
              name,
              version: "2",
              stage: "Production",
              archiveExistingVersions: true,
            }),
          ]);
          const production = (
            await registry.searchModelVersions({ name })
          ).filter((v) => v.currentStage === "Production");
          expect(production, `round ${round}`).toHaveLength(1);
        }
      } finally {
        await other.close();
      }
    });
  });

  describe("runs left open", () => {
    it("registers a run once, however often getOrCreateModelVersion is asked", async () => {
      const name = unique("streamflow_once");
      await registry.getOrCreateRegisteredModel(name);
      const first = await newRun();
      const one = await registry.getOrCreateModelVersion({
        name,
        source: `${first.artifactUri}/model`,
        runId: first.runId,
      });
      const again = await registry.getOrCreateModelVersion({
        name,
        source: `${first.artifactUri}/model`,
        runId: first.runId,
      });
      expect([one.version, again.version]).toEqual(["1", "1"]);
      const second = await newRun();
      expect(
        (
          await registry.getOrCreateModelVersion({
            name,
            source: `${second.artifactUri}/model`,
            runId: second.runId,
          })
        ).version,
      ).toBe("2");
      expect(
        (await registry.searchModelVersions({ name })).map((v) => v.runId),
      ).toEqual([second.runId, first.runId]);
    });

    it("ends FAILED the open runs recorded for this server, found by attempt id, and forgets them", async () => {
      const experiment = await registry.getOrCreateExperiment(
        unique("exp_pending"),
      );
      const experimentId = experiment.experimentId;
      const store = createPendingRunStore(join(work, unique("pending")));
      const [open, finished, never, elsewhere] = [
        newAttemptId(),
        newAttemptId(),
        newAttemptId(),
        newAttemptId(),
      ];
      const orphan = await registry.createRun({
        experimentId,
        tags: { [ATTEMPT_ID_TAG]: open },
      });
      const done = await registry.createRun({
        experimentId,
        tags: { [ATTEMPT_ID_TAG]: finished },
      });
      await registry.terminateRun(done.info.runId, "FINISHED");
      const other = await registry.createRun({
        experimentId,
        tags: { [ATTEMPT_ID_TAG]: elsewhere },
      });
      const entry = (
        attemptId: string,
        runId: string | undefined,
        server = "here",
      ) => ({
        server,
        experimentId,
        attemptId,
        runId,
        recordedAt: new Date().toISOString(),
        reason: "server went away",
      });
      // The orphan's id never came back: only its attempt id is known.
      await store.add(entry(open, undefined));
      await store.add(entry(finished, done.info.runId));
      await store.add(entry(never, undefined));
      await store.add(entry(elsewhere, other.info.runId, "another server"));

      const ended = await endPendingRuns(registry, store, "here");
      expect(
        ended
          .flatMap((e) => e.runs)
          .sort((a, b) => a.runId.localeCompare(b.runId)),
      ).toEqual(
        [
          { runId: orphan.info.runId, before: "RUNNING", after: "FAILED" },
          { runId: done.info.runId, before: "FINISHED", after: "FINISHED" },
        ].sort((a, b) => a.runId.localeCompare(b.runId)),
      );
      expect((await registry.getRun(orphan.info.runId)).info.status).toBe(
        "FAILED",
      );
      expect((await registry.getRun(done.info.runId)).info.status).toBe(
        "FINISHED",
      );
      expect((await registry.getRun(other.info.runId)).info.status).toBe(
        "RUNNING",
      );
      expect((await store.list()).map((p) => p.attemptId)).toEqual([elsewhere]);
      expect(await endPendingRuns(registry, store, "here")).toEqual([]);
    });
  });
}
