import { fork, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "@streamflow/test-utils";
import { lockDataDir } from "../src/internal/data-dir-lock.ts";

const RACER = fileURLToPath(new URL("./lock-racer.ts", import.meta.url));
const RACERS = 4;
const ROUNDS = 150;

interface Result {
  type: "result";
  round: number;
  pid: number;
  won: boolean;
  code?: string;
  message?: string;
}

class Racer {
  readonly child: ChildProcess;
  readonly #waiting = new Map<string, (message: unknown) => void>();
  constructor() {
    this.child = fork(RACER, [], {
      cwd: REPO_ROOT,
      execArgv: ["--conditions=@streamflow/source", "--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (m: { type: string; round?: number }) => {
      const key = `${m.type}:${m.round ?? ""}`;
      this.#waiting.get(key)?.(m);
      this.#waiting.delete(key);
    });
  }
  next<T>(type: string, round?: number): Promise<T> {
    return new Promise((resolve) =>
      this.#waiting.set(
        `${type}:${round ?? ""}`,
        resolve as (m: unknown) => void,
      ),
    );
  }
  send(message: object): void {
    this.child.send(message);
  }
}

/** A pid that certainly belonged to a process which has exited. */
function deadPid(): number {
  const done = spawnSync(process.execPath, ["-e", ""]);
  return done.pid;
}

describe("the PGlite data directory lock", () => {
  let racers: Racer[];
  beforeAll(async () => {
    racers = Array.from({ length: RACERS }, () => new Racer());
    await Promise.all(racers.map((r) => r.next("ready")));
  });
  afterAll(() => {
    for (const r of racers) r.send({ type: "exit" });
  });

  it(`is won by exactly one of ${RACERS} processes racing for it, ${ROUNDS} times, also when a dead process left it behind`, async () => {
    const dir = await mkdtemp(join(tmpdir(), "sf-lock-"));
    const dataDir = join(dir, "pgdata");
    const dead = deadPid();
    const tally = { free: 0, stale: 0, legacy: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      // A third of the rounds race for a free lock, a third over a dead owner's, a third over an older StreamFlow's bare pid.
      const kind = (["free", "stale", "legacy"] as const)[round % 3]!;
      tally[kind]++;
      if (kind === "stale")
        await writeFile(
          `${dataDir}.lock`,
          JSON.stringify({ pid: dead, nonce: `dead-${round}` }),
        );
      if (kind === "legacy") await writeFile(`${dataDir}.lock`, String(dead));
      const results = racers.map((r) => r.next<Result>("result", round));
      const at = Date.now() + 15;
      for (const r of racers) r.send({ type: "take", round, dataDir, at });
      const outcome = await Promise.all(results);
      const winners = outcome.filter((o) => o.won);
      expect(
        winners,
        `round ${round} (${kind}): ${JSON.stringify(outcome)}`,
      ).toHaveLength(1);
      const winner = winners[0]!;
      for (const loser of outcome.filter((o) => !o.won)) {
        expect(loser.code).toBe("DATABASE_UNAVAILABLE");
        expect(loser.message).toContain(`in use by process ${winner.pid}`);
      }
      const holder = racers.find((r) => r.child.pid === winner.pid)!;
      const released = holder.next("released", round);
      holder.send({ type: "release", round });
      await released;
    }
    expect(tally.stale).toBeGreaterThan(40);
    // Nothing left behind: no lock, no temp file, no breaker lock.
    expect(await readdir(dir)).toEqual([]);
  });

  it("is refused to a second opener in the same process, and taken over from a previous run with this very pid", async () => {
    const dataDir = join(await mkdtemp(join(tmpdir(), "sf-lock-")), "pgdata");
    const release = await lockDataDir(dataDir);
    const second = (await lockDataDir(dataDir).catch((e: unknown) => e)) as {
      code?: string;
      message?: string;
    };
    expect(second.code).toBe("DATABASE_UNAVAILABLE");
    expect(second.message).toContain(`in use by this process (${process.pid})`);
    await release();
    // Containers give each run the same low pid: a lock naming ours that we do not hold is stale.
    await writeFile(
      `${dataDir}.lock`,
      JSON.stringify({ pid: process.pid, nonce: "previous-run" }),
    );
    const again = await lockDataDir(dataDir);
    await again();
  });
});
