import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ATTEMPT_ID_TAG,
  createMlflowClient,
  type Registry,
  type Run,
} from "@streamflow/registry-client";
import {
  createTestDatabase,
  MLFLOW_LINES,
  startFaultProxy,
  startMlflowServer,
  type FaultMode,
  type FaultProxy,
  type MlflowServer,
  type TestDatabase,
} from "@streamflow/test-utils";
import { runCli, type CliRun } from "./run-cli.ts";

// The property of F5 item 2: whichever single request of `train` and `promote` fails — the server
// down, or the request processed and its answer lost — once the server is back and one more
// command has run against it, no run of ours is RUNNING and no version points at a run that is not
// FINISHED (and nothing was registered twice).

let work: string;
let database: TestDatabase;
let dbEnv: Record<string, string | undefined>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "sf-run-states-"));
  database = await createTestDatabase("postgres");
  dbEnv = {
    STREAMFLOW_DATABASE_URL: database.url,
    MLFLOW_TRACKING_URI: undefined,
  };
  const env = { ...dbEnv, STREAMFLOW_HOME: join(work, "data-home") };
  const gen = await runCli(
    [
      "generate-data",
      "--users",
      "300",
      "--months",
      "1",
      "--out",
      join(work, "data"),
    ],
    env,
    work,
  );
  expect(gen.exitCode, gen.stderr).toBe(0);
  const ingest = await runCli(
    [
      "ingest",
      "--month-dir",
      join(work, "data", "month_000"),
      "--as-of",
      "2024-01-31",
    ],
    env,
    work,
  );
  expect(ingest.exitCode, ingest.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await database?.[Symbol.asyncDispose]();
});

/** What MLflow itself holds for one experiment and model, read around the proxy. */
async function mlflowState(
  registry: Registry,
  experiment: string,
  model: string,
): Promise<{
  runs: Run[];
  versions: { version: string; runId: string | undefined; runStatus: string }[];
}> {
  const exp = await registry.getExperimentByName(experiment);
  const runs =
    exp === undefined
      ? []
      : await registry.searchRuns({ experimentIds: [exp.experimentId] });
  const models = await registry.searchRegisteredModels({ nameLike: model });
  const versions = models.some((m) => m.name === model)
    ? await registry.searchModelVersions({ name: model })
    : [];
  return {
    runs,
    versions: await Promise.all(
      versions.map(async (v) => ({
        version: v.version,
        runId: v.runId,
        runStatus:
          v.runId === undefined
            ? "none"
            : (await registry.getRun(v.runId)).info.status,
      })),
    ),
  };
}

describe.each(MLFLOW_LINES)(
  "run and version states through a failing MLflow %s.x",
  (line) => {
    let server: MlflowServer;
    let proxy: FaultProxy;
    let direct: Registry;
    let env: Record<string, string | undefined>;
    const home = () => env["STREAMFLOW_HOME"]!;

    beforeAll(async () => {
      server = await startMlflowServer({ line });
      proxy = await startFaultProxy(server.url);
      direct = createMlflowClient({ trackingUri: server.url, maxRetries: 0 });
      env = {
        ...dbEnv,
        STREAMFLOW_HOME: join(work, `home-${line}`),
        MLFLOW_TRACKING_URI: proxy.url,
        // One retry, no waiting: the retry paths run, and the whole sweep stays quick.
        MLFLOW_HTTP_REQUEST_MAX_RETRIES: "1",
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: "0",
        MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: "0",
        MLFLOW_HTTP_REQUEST_TIMEOUT: "20",
      };
    }, 180_000);
    afterAll(async () => {
      await direct?.close();
      await proxy?.close();
      await server?.stop();
    });

    const trainAndPromote = async (name: string): Promise<CliRun[]> => {
      const train = await runCli(
        [
          "train",
          "--as-of",
          "2024-01-31",
          "--n-estimators",
          "3",
          "--experiment",
          name,
          "--model-name",
          name,
          "--out-dir",
          join(work, "out", line, name),
          "--json",
        ],
        env,
        work,
      );
      if (train.exitCode !== 0) return [train];
      const promote = await runCli(
        [
          "promote",
          "--model-name",
          name,
          "--latest",
          "--stage",
          "Production",
          "--json",
        ],
        env,
        work,
      );
      return [train, promote];
    };

    it("ends every run and registers only FINISHED runs, whichever request fails and however", async () => {
      proxy.arm({ failAt: Number.POSITIVE_INFINITY, mode: "refuse" });
      const clean = await trainAndPromote(`clean_${line}`);
      expect(
        clean.map((r) => r.exitCode),
        clean.map((r) => r.stderr).join("\n"),
      ).toEqual([0, 0]);
      const total = proxy.requests;
      expect(total).toBeGreaterThan(15);

      const problems: string[] = [];
      for (const mode of ["refuse", "drop-answer"] as FaultMode[]) {
        for (let n = 1; n <= total; n += 1) {
          const name = `m_${mode.replace("-", "_")}_${n}`;
          proxy.arm({ failAt: n, mode });
          const runs = await trainAndPromote(name);
          const failedAt =
            proxy.log.find((l) => l.startsWith(`${n}. `)) ??
            `${n} (not reached)`;
          const where = `${mode} at request ${failedAt}`;
          const last = runs.at(-1)!;
          if (!proxy.down)
            problems.push(
              `${where}: the failure never happened (${proxy.requests} requests)`,
            );
          if (runs.some((r) => r.exitCode === 1))
            problems.push(
              `${where}: exit 1: ${runs.map((r) => r.stderr).join(" | ")}`,
            );
          if (last.exitCode !== 3)
            problems.push(
              `${where}: the failed command exited ${last.exitCode}, not 3`,
            );

          proxy.restore();
          const before = await mlflowState(direct, name, name);
          // Any command that opens the registry does; `models show` is one of the cheapest (4 when nothing was registered).
          const next = await runCli(
            ["models", "show", name, "--json"],
            env,
            work,
          );
          if (next.exitCode !== 0 && next.exitCode !== 4)
            problems.push(
              `${where}: the next command exited ${next.exitCode}: ${next.stderr}`,
            );
          for (const run of before.runs.filter(
            (r) => r.info.status === "RUNNING",
          )) {
            if (!next.stderr.includes(`ended run ${run.info.runId} FAILED`))
              problems.push(
                `${where}: the next command did not say it ended run ${run.info.runId}`,
              );
          }

          const after = await mlflowState(direct, name, name);
          for (const run of after.runs.filter(
            (r) => r.info.status === "RUNNING",
          ))
            problems.push(`${where}: run ${run.info.runId} is still RUNNING`);
          for (const v of after.versions.filter(
            (v) => v.runStatus !== "FINISHED",
          ))
            problems.push(
              `${where}: version ${v.version} points at a ${v.runStatus} run`,
            );
          const perRun = new Map<string, number>();
          for (const v of after.versions)
            perRun.set(v.runId ?? "", (perRun.get(v.runId ?? "") ?? 0) + 1);
          for (const [runId, count] of perRun)
            if (count > 1)
              problems.push(
                `${where}: run ${runId} was registered ${count} times`,
              );
          const attempts = new Map<string, number>();
          for (const r of after.runs)
            attempts.set(
              r.data.tags[ATTEMPT_ID_TAG] ?? "",
              (attempts.get(r.data.tags[ATTEMPT_ID_TAG] ?? "") ?? 0) + 1,
            );
          for (const [attempt, count] of attempts)
            if (count > 1)
              problems.push(`${where}: attempt ${attempt} made ${count} runs`);
        }
      }
      expect(problems).toEqual([]);
      // Everything recorded was dealt with.
      expect(
        await readdir(join(home(), "pending-runs")).catch(() => []),
      ).toEqual([]);
    }, 300_000);

    it("promote --latest passes over a version whose run did not finish", async () => {
      const name = `legacy_${line}`;
      const exp = await direct.getOrCreateExperiment(name);
      await direct.getOrCreateRegisteredModel(name);
      const register = async (status: "FINISHED" | "FAILED" | undefined) => {
        const run = await direct.createRun({ experimentId: exp.experimentId });
        await direct.logArtifactContent({
          runId: run.info.runId,
          path: "model/MLmodel",
          content: "artifact_path: model\n",
        });
        // What an older StreamFlow could leave: a version registered before its run was ended.
        const version = await direct.createModelVersion({
          name,
          source: `${run.info.artifactUri}/model`,
          runId: run.info.runId,
        });
        if (status !== undefined)
          await direct.terminateRun(run.info.runId, status);
        return version.version;
      };
      const good = await register("FINISHED");
      await register("FAILED");
      await register(undefined);
      proxy.restore();
      const promote = await runCli(
        [
          "promote",
          "--model-name",
          name,
          "--latest",
          "--stage",
          "Staging",
          "--json",
        ],
        env,
        work,
      );
      expect(promote.exitCode, promote.stderr).toBe(0);
      expect(promote.json()).toMatchObject({ promoted: true, version: good });
      const none = `legacy_none_${line}`;
      await direct.getOrCreateRegisteredModel(none);
      const run = await direct.createRun({ experimentId: exp.experimentId });
      await direct.createModelVersion({
        name: none,
        source: `${run.info.artifactUri}/model`,
        runId: run.info.runId,
      });
      await direct.terminateRun(run.info.runId, "FAILED");
      const refused = await runCli(
        [
          "promote",
          "--model-name",
          none,
          "--latest",
          "--stage",
          "Staging",
          "--json",
        ],
        env,
        work,
      );
      expect(refused.exitCode).toBe(4);
      expect(refused.stdout).toContain("FINISHED");
    });
  },
);
