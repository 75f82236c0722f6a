import { randomUUID } from "node:crypto";
import { readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { RegistryError, isRegistryError } from "./errors.ts";
import { writeFileAtomic } from "./internal/files.ts";
import type { Registry, RunStatus } from "./types.ts";

/**
 * Tag every run of ours carries from its creation on: a client-made id, so a run whose
 * `runs/create` answer was lost can still be found (and ended) by searching for it.
 */
export const ATTEMPT_ID_TAG = "streamflow.attempt_id";

/** A fresh attempt id for {@link ATTEMPT_ID_TAG}. */
export function newAttemptId(): string {
  return randomUUID();
}

/** A run that could not be ended because the tracking server went away. */
export interface PendingRun {
  /** Which tracking server (credentials removed) or local registry folder holds the run. */
  server: string;
  experimentId: string;
  /** The {@link ATTEMPT_ID_TAG} value; finds the run even when its id never came back. */
  attemptId: string;
  runId: string | undefined;
  /** ISO time it was recorded. */
  recordedAt: string;
  /** What went wrong, for the message the next command shows. */
  reason: string;
}

/** Where pending runs are kept between processes. */
export interface PendingRunStore {
  /** Records one run (replacing an entry of the same attempt id). Atomic: readers never see half an entry. */
  add(run: PendingRun): Promise<void>;
  /** Every recorded run, for all servers. */
  list(): Promise<PendingRun[]>;
  /** Forgets an attempt; no error when another process already did. */
  remove(attemptId: string): Promise<void>;
}

const ENTRY = /^run-([0-9a-f-]{36})\.json$/;

function isPendingRun(value: unknown): value is PendingRun {
  const v = value as Partial<PendingRun> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.server === "string" &&
    typeof v.experimentId === "string" &&
    typeof v.attemptId === "string"
  );
}

/**
 * A {@link PendingRunStore} in a folder, one file per run: concurrent processes never rewrite each
 * other's entries (each is written through a temp file and a rename, and removed by unlinking).
 */
export function createPendingRunStore(dir: string): PendingRunStore {
  const file = (attemptId: string) => {
    if (!/^[0-9a-f-]{36}$/.test(attemptId))
      throw new RegistryError(
        "REGISTRY_INVALID_REQUEST",
        `'${attemptId}' is not an attempt id (a UUID).`,
      );
    return join(dir, `run-${attemptId}.json`);
  };
  return {
    async add(run) {
      try {
        await writeFileAtomic(
          file(run.attemptId),
          `${JSON.stringify(run, null, 2)}\n`,
        );
      } catch (error) {
        if (isRegistryError(error)) throw error;
        throw new RegistryError(
          "REGISTRY_STORAGE",
          `Cannot record pending run ${run.runId ?? run.attemptId} in ${dir}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    },
    async list() {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        return [];
      }
      const runs: PendingRun[] = [];
      for (const name of names.filter((n) => ENTRY.test(n))) {
        try {
          const value: unknown = JSON.parse(
            await readFile(join(dir, name), "utf8"),
          );
          if (isPendingRun(value)) runs.push(value);
        } catch {
          // Removed by another process between readdir and read: nothing left to do for it.
        }
      }
      return runs.sort((a, b) => a.recordedAt.localeCompare(b.recordedAt));
    },
    async remove(attemptId) {
      await rm(file(attemptId), { force: true });
    },
  };
}

/** What {@link endPendingRuns} did with one recorded run. */
export interface EndedPendingRun {
  pending: PendingRun;
  /** Runs found for the attempt, with the status each had before and after. */
  runs: { runId: string; before: RunStatus; after: RunStatus }[];
}

const OPEN: ReadonlySet<RunStatus> = new Set(["RUNNING", "SCHEDULED"]);

/**
 * Ends FAILED every still-open run recorded for `server` (found by attempt id, so an orphan whose
 * create answer was lost is found too), then forgets the entry. A run that did finish stays as it is.
 * Stops at the first failure and leaves the remaining entries for a later call.
 * @throws whatever the registry throws for the entry being handled
 */
export async function endPendingRuns(
  registry: Registry,
  store: PendingRunStore,
  server: string,
): Promise<EndedPendingRun[]> {
  const done: EndedPendingRun[] = [];
  for (const pending of (await store.list()).filter(
    (p) => p.server === server,
  )) {
    const runs: EndedPendingRun["runs"] = [];
    let found: { runId: string; status: RunStatus }[];
    try {
      found = (
        await registry.searchRuns({
          experimentIds: [pending.experimentId],
          filter: { tags: { [ATTEMPT_ID_TAG]: pending.attemptId } },
        })
      ).map((r) => ({ runId: r.info.runId, status: r.info.status }));
    } catch (error) {
      // A deleted experiment holds nothing to end.
      if (!isRegistryError(error, "REGISTRY_NOT_FOUND")) throw error;
      found = [];
    }
    for (const run of found) {
      if (!OPEN.has(run.status)) {
        runs.push({ runId: run.runId, before: run.status, after: run.status });
        continue;
      }
      await registry.terminateRun(run.runId, "FAILED");
      runs.push({ runId: run.runId, before: run.status, after: "FAILED" });
    }
    await store.remove(pending.attemptId);
    done.push({ pending, runs });
  }
  return done;
}
