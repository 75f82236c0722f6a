import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { openFeatureStore } from "@streamflow/features";
import { createTestDatabase, type TestDatabase } from "@streamflow/test-utils";
import {
  generateMonths,
  monthRunArgs,
  MONTHS,
  storeEnv,
} from "./pipeline-fixture.ts";
import {
  assertBuilt,
  runCliProcess,
  spawnCli,
  type Spawned,
} from "./spawn-cli.ts";

// `pipeline run --distributed --shards 3` with three `streamflow worker` processes on one
// PostgreSQL: the end state must be the single-process run's, and a worker killed in the middle
// of a shard must have that shard retried by another, with no prediction row lost or doubled.

const USERS = 600;
const SHARDS = 3;

interface EndState {
  /** as_of → rows, distinct users, and an md5 of every (user, model version, p_churn, label). */
  predictions: Record<string, { rows: number; users: number; md5: string }>;
  /** The month's step records, without the shard rows a distributed run adds. */
  steps: string[];
}

let data: string;
beforeAll(async () => {
  assertBuilt();
  data = await generateMonths(USERS);
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function store() {
  const db: TestDatabase = await createTestDatabase("postgres");
  cleanups.push(async () => {
    await db[Symbol.asyncDispose]();
  });
  const cwd = await mkdtemp(join(tmpdir(), "sf-distributed-"));
  // One home for the coordinator and its workers: the local registry is shared through it.
  const env = storeEnv(db.url, cwd);
  const pipelineArgs = (i: number, extra: string[] = []) =>
    monthRunArgs(data, i, ["--json", ...extra]);
  const distributed = ["--distributed", "--shards", String(SHARDS)];
  const workers: Spawned[] = [];
  const startWorkers = async (n: number, extra: string[] = []) => {
    const started = Array.from({ length: n }, () =>
      spawnCli(["worker", "--verbose", ...extra], { cwd, env }),
    );
    workers.push(...started);
    cleanups.push(async () => {
      for (const w of started)
        if (w.child.exitCode === null && w.child.signalCode === null)
          w.child.kill("SIGKILL");
      await Promise.all(started.map((w) => w.done));
    });
    await Promise.all(started.map((w) => w.waitForStderr("looking for jobs")));
    return started;
  };
  const endState = async (): Promise<EndState> => {
    const sql = await openFeatureStore({ url: db.url });
    try {
      const rows = await sql.query<{
        as_of: string;
        rows: string;
        users: string;
        md5: string;
      }>(
        `SELECT as_of::text AS as_of, count(*) AS rows, count(DISTINCT user_id) AS users,
           md5(string_agg(user_id || ' ' || model_version || ' ' || p_churn::text || ' ' || label,
             ',' ORDER BY user_id, model_version)) AS md5
         FROM churn_predictions GROUP BY as_of ORDER BY as_of`,
      );
      const steps = await sql.query<{ s: string }>(
        `SELECT as_of::text || ' ' || step || ' ' || status AS s FROM pipeline_runs
         WHERE step NOT LIKE '%:%' ORDER BY as_of, position`,
      );
      return {
        predictions: Object.fromEntries(
          rows.map((r) => [
            r.as_of,
            { rows: Number(r.rows), users: Number(r.users), md5: r.md5 },
          ]),
        ),
        steps: steps.map((s) => s.s),
      };
    } finally {
      await sql.close();
    }
  };
  const run = async (i: number, extra: string[] = []) => {
    const r = await runCliProcess(pipelineArgs(i, extra), { cwd, env });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as PipelineJson;
  };
  return {
    db,
    cwd,
    env,
    distributed,
    pipelineArgs,
    run,
    startWorkers,
    workers,
    endState,
  };
}

interface PipelineJson {
  decision: string;
  scored: number;
  steps: {
    step: string;
    status: string;
    result: Record<string, unknown> & {
      shards?: { shard: string; rows: number; status: string }[];
    };
  }[];
}

/** What must not depend on how the month was run: statuses, the decision and the scored month. */
function comparable(r: PipelineJson) {
  const score = r.steps.find((s) => s.step === "score")!.result;
  const retrain = r.steps.find((s) => s.step === "retrain")!.result as {
    decision: string;
    candidate: { value: number };
  };
  return {
    decision: r.decision,
    scored: r.scored,
    statuses: r.steps.map((s) => `${s.step} ${s.status}`),
    candidate_auc: retrain.candidate.value,
    rows: score["rows"],
    positive_rate: score["positive_rate"],
    p_churn: score["p_churn"],
  };
}

async function until(what: string, check: () => Promise<boolean> | boolean) {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

let reference: { state: EndState; json: ReturnType<typeof comparable>[] };

describe("pipeline run --distributed with three worker processes", () => {
  it("ends in the single-process run's state, every shard run once", async () => {
    const single = await store();
    const singleJson = [await single.run(0), await single.run(1)];
    reference = {
      state: await single.endState(),
      json: singleJson.map(comparable),
    };
    expect(reference.state.predictions[MONTHS[1]!]).toMatchObject({
      rows: USERS,
      users: USERS,
    });

    const s = await store();
    const workers = await s.startWorkers(3);
    const runs = [await s.run(0, s.distributed), await s.run(1, s.distributed)];
    expect(runs.map(comparable)).toEqual(reference.json);
    expect(await s.endState()).toEqual(reference.state);
    for (const r of runs) {
      const shards = r.steps.find((x) => x.step === "score")!.result.shards!;
      expect(shards.map((x) => x.shard)).toEqual(["0/3", "1/3", "2/3"]);
      expect(shards.reduce((n, x) => n + x.rows, 0)).toBe(USERS);
    }
    // Each shard of each month ran exactly once, on some worker.
    const logs = workers.map((w) => w.done);
    for (const w of workers) w.child.kill("SIGTERM");
    const ended = await Promise.all(logs);
    for (const e of ended) expect(e.code, e.stderr).toBe(0);
    const all = ended.map((e) => e.stderr).join("\n");
    for (const asOf of MONTHS)
      for (let i = 0; i < SHARDS; i++)
        expect(
          all.split(`job score:${i}/${SHARDS} of ${asOf} `).length - 1,
          `score:${i}/${SHARDS} of ${asOf}`,
        ).toBe(2); // "… started" and "… done in"
  });

  it("resumes a fanned-out score with the version its finished shards used, even after a promotion", async () => {
    const s = await store();
    const workers = await s.startWorkers(2);
    await s.run(0, s.distributed);
    await s.run(1, s.distributed);
    // As a coordinator killed after two shards would leave it, then someone puts version 1 back.
    const sql = await openFeatureStore({ url: s.db.url });
    cleanups.push(() => sql.close());
    const reopened = await sql.execute(
      `UPDATE pipeline_runs SET status = 'running', finished_at = NULL, result = NULL
       WHERE as_of = $1 AND step IN ('score', 'score:2/3')`,
      [MONTHS[1]],
    );
    expect(reopened).toBe(2);
    const scoredBy = async () =>
      (
        await sql.query<{ v: string }>(
          "SELECT DISTINCT model_version AS v FROM churn_predictions WHERE as_of = $1",
          [MONTHS[1]],
        )
      ).map((r) => r.v);
    const [version] = await scoredBy();
    const other = version === "2" ? "1" : "2";
    const promote = await runCliProcess(
      [
        "promote",
        "--version",
        other,
        "--stage",
        "Production",
        "--archive-existing",
      ],
      { cwd: s.cwd, env: s.env },
    );
    expect(promote.code, promote.stderr).toBe(0);

    const resumed = await s.run(1, s.distributed);
    expect(resumed).toMatchObject({ resumed: true });
    expect(comparable(resumed)).toEqual(reference.json[1]);
    expect(await s.endState()).toEqual(reference.state);
    expect(await scoredBy()).toEqual([version]);
    for (const w of workers) w.child.kill("SIGTERM");
    for (const w of workers) expect((await w.done).code).toBe(0);
  });

  it("retries a shard whose worker was killed, on another worker, losing and doubling nothing", async () => {
    const s = await store();
    const workers = await s.startWorkers(3, [
      "--heartbeat-s",
      "1",
      "--stale-after-s",
      "3",
    ]);
    await s.run(0, s.distributed);

    // Hold every shard's writes, so that a shard is in the middle of its work when its worker dies.
    const sql = await openFeatureStore({ url: s.db.url });
    cleanups.push(() => sql.close());
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = sql.transaction(async (tx) => {
      await tx.query("LOCK TABLE churn_predictions IN SHARE MODE");
      locked();
      await released;
    });
    await isLocked;
    const coordinator = spawnCli(s.pipelineArgs(1, s.distributed), {
      cwd: s.cwd,
      env: s.env,
    });
    const started = (w: Spawned, i: number) =>
      w.stderr().includes(`job score:${i}/${SHARDS} of ${MONTHS[1]} `);
    await until("every shard taken and blocked on its write", async () => {
      const waiting = await sql.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_locks
         WHERE NOT granted AND relation = 'churn_predictions'::regclass`,
      );
      return Number(waiting[0]!.n) >= SHARDS;
    });
    const victim = workers[0]!;
    const shard = [0, 1, 2].find((i) => started(victim, i));
    expect(shard, victim.stderr()).toBeDefined();
    victim.child.kill("SIGKILL");
    expect((await victim.done).signal).toBe("SIGKILL");
    release();
    await holder;

    const end = await coordinator.done;
    expect(end.code, end.stderr).toBe(0);
    const survivors = workers.slice(1);
    const retried = new RegExp(
      `job score:${shard}/${SHARDS} of ${MONTHS[1]} \\(run [^)]+\\) started, attempt 2`,
    );
    expect(
      survivors.filter((w) => retried.test(w.stderr())),
      survivors.map((w) => w.stderr()).join("\n---\n"),
    ).toHaveLength(1);
    expect(await s.endState()).toEqual(reference.state);
    expect(comparable(JSON.parse(end.stdout) as PipelineJson)).toEqual(
      reference.json[1],
    );
    // The dead worker is gone from the register; the living ones are still in it.
    const registered = await sql.query<{ pid: number }>(
      "SELECT pid FROM pipeline_workers ORDER BY pid",
    );
    expect(registered.map((r) => r.pid)).toEqual(
      survivors.map((w) => w.child.pid).sort((x, y) => x! - y!),
    );
    for (const w of survivors) w.child.kill("SIGTERM");
    for (const w of survivors) expect((await w.done).code).toBe(0);
  });
});
