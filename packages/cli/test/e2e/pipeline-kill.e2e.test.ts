import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openFeatureStore } from "@streamflow/features";
import { createTestDatabase, type TestDatabase } from "@streamflow/test-utils";
import {
  generateMonths,
  monthRunArgs,
  MONTHS,
  storeEnv,
} from "./pipeline-fixture.ts";
import { assertBuilt, runCliProcess, spawnCli } from "./spawn-cli.ts";

// kill -9 of `pipeline run` at each step boundary and inside the longest steps, then the same
// command again: it must resume the run and end where an uninterrupted run ends.

const STEP_ORDER = [
  "ingest",
  "materialize",
  "check_online",
  "drift",
  "retrain",
  "score",
];

interface EndState {
  /** as_of → [rows, distinct users, Σ p_churn to 9 decimals]: the scores, not the version numbers. */
  predictions: Record<string, [number, number, string]>;
  steps: string[];
}

let data: string;
beforeAll(async () => {
  assertBuilt();
  data = await generateMonths(500);
});

/** A store (its own PostgreSQL database) and home, with month 1 already through the pipeline. */
async function store() {
  const db: TestDatabase = await createTestDatabase("postgres");
  const cwd = await mkdtemp(join(tmpdir(), "sf-pipeline-kill-"));
  const env = storeEnv(db.url, cwd);
  const args = (i: number) => monthRunArgs(data, i, ["--verbose"]);
  const run = async (i: number) => {
    const r = await runCliProcess(args(i), { cwd, env });
    expect(r.code, r.stderr).toBe(0);
    return r;
  };
  await run(0);
  const endState = async (): Promise<EndState> => {
    const sql = await openFeatureStore({ url: db.url });
    try {
      const rows = await sql.query<{
        as_of: string;
        rows: string;
        users: string;
        total: string;
      }>(
        `SELECT as_of::text AS as_of, count(*) AS rows, count(DISTINCT user_id) AS users,
           round(sum(p_churn)::numeric, 9)::text AS total
         FROM churn_predictions GROUP BY as_of ORDER BY as_of`,
      );
      const steps = await sql.query<{ s: string }>(
        `SELECT as_of::text || ' ' || step || ' ' || status AS s FROM pipeline_runs
         ORDER BY as_of, position`,
      );
      return {
        predictions: Object.fromEntries(
          rows.map((r) => [
            r.as_of,
            [Number(r.rows), Number(r.users), r.total] as [
              number,
              number,
              string,
            ],
          ]),
        ),
        steps: steps.map((s) => s.s),
      };
    } finally {
      await sql.close();
    }
  };
  return { db, cwd, env, args, run, endState };
}

let reference: EndState;

describe("pipeline run killed with SIGKILL and started again", () => {
  it("an uninterrupted run: the state every interrupted one must reach", async () => {
    const s = await store();
    try {
      await s.run(1);
      reference = await s.endState();
      expect(reference.predictions[MONTHS[1]!]![0]).toBe(
        reference.predictions[MONTHS[1]!]![1],
      );
      expect(reference.steps.filter((x) => x.startsWith(MONTHS[1]!))).toEqual(
        [
          "ingest done",
          "materialize done",
          "check_online done",
          "drift done",
          "retrain done",
          "score done",
        ].map((x) => `${MONTHS[1]} ${x}`),
      );
    } finally {
      await s.db[Symbol.asyncDispose]();
    }
  });

  // After `<step> done`: at a step boundary. At `<step> …`: inside the step, once it has begun
  // (recorded 'running'); at this size a step lasts milliseconds, so the kill follows at once.
  it.each([
    "ingest done",
    "materialize done",
    "check_online done",
    "drift done",
    "retrain …",
    "retrain done",
    "score …",
  ])("killed at '%s', resumes and ends in the same state", async (line) => {
    const s = await store();
    try {
      const child = spawnCli(s.args(1), { cwd: s.cwd, env: s.env });
      await child.waitForStderr(`pipeline ${MONTHS[1]}: ${line}`);
      child.child.kill("SIGKILL");
      const killed = await child.done;
      expect(killed.signal ?? "exited", killed.stderr).toBe("SIGKILL");
      // Where the kill landed, as the killed run left pipeline_runs: the step cut off is still
      // 'running'; at a boundary the step is done and the next one at most started.
      const [step, mark] = line.split(" ") as [string, string];
      const left = (await s.endState()).steps
        .filter((x) => x.startsWith(MONTHS[1]!))
        .map((x) => x.slice(MONTHS[1]!.length + 1));
      if (mark === "…") expect(left.at(-1)).toBe(`${step} running`);
      else
        expect(left.slice(0, left.indexOf(`${step} done`) + 1).length).toBe(
          STEP_ORDER.indexOf(step) + 1,
        );
      const again = await runCliProcess([...s.args(1), "--json"], {
        cwd: s.cwd,
        env: s.env,
      });
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ resumed: true });
      expect(await s.endState()).toEqual(reference);
    } finally {
      await s.db[Symbol.asyncDispose]();
    }
  });
});
