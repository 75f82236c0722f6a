import { createHash, randomBytes } from "node:crypto";
import {
  link,
  mkdir,
  readFile,
  rm,
  stat,
  unlink,
  writeFile,
} from "node:fs/promises";
import { dirname } from "node:path";
import { FeaturesError } from "../errors.ts";

/**
 * PGlite is a single-process database: a second process opening the same directory would corrupt
 * it. A lock file next to the directory keeps it to one process.
 *
 * The lock appears complete or not at all: its content (pid and a nonce) is written to a temp file
 * first, then hard-linked into place, and `link` fails when the lock exists. So nobody ever reads a
 * half-written lock and takes it for a stale one.
 *
 * A lock whose owner is dead is stale. Breaking it must be race-free: two processes that both see
 * the dead owner must not both delete the lock (the second deletion would remove the first one's
 * fresh lock). So only the holder of `<lock>.break-<hash of the stale content>` may delete it, and
 * only if the lock still has that content; the breaker lock is taken the same way, recursively
 * (its own owner may die too). Everyone then races `link` again, and exactly one wins.
 */

interface Owner {
  pid: number;
  nonce: string;
}

const held = new Set<string>(); // lock paths this process holds, by content
const MAX_ATTEMPTS = 200;
/** An unreadable lock (an older StreamFlow's, caught mid-write) counts as taken for this long. */
const UNREADABLE_GRACE_MS = 10_000;
const MAX_BREAK_DEPTH = 4;

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function parseOwner(content: string): Owner | undefined {
  // Older StreamFlows wrote the bare pid.
  if (/^\d+$/.test(content.trim()))
    return { pid: Number(content.trim()), nonce: "" };
  try {
    const parsed = JSON.parse(content) as Partial<Owner>;
    return Number.isInteger(parsed.pid) && typeof parsed.nonce === "string"
      ? { pid: parsed.pid!, nonce: parsed.nonce }
      : undefined;
  } catch {
    return undefined;
  }
}

type Holder =
  | { state: "gone" }
  | { state: "alive"; pid: number | undefined }
  | { state: "stale"; content: string };

async function inspect(path: string): Promise<Holder> {
  let content: string;
  try {
    content = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      return { state: "gone" };
    throw error;
  }
  const owner = parseOwner(content);
  if (owner === undefined) {
    const age = await stat(path).then(
      (st) => Date.now() - st.mtimeMs,
      () => 0,
    );
    return age > UNREADABLE_GRACE_MS
      ? { state: "stale", content }
      : { state: "alive", pid: undefined };
  }
  // Our own pid in a lock we do not hold is a previous run's (containers reuse low pids).
  const ours = owner.pid === process.pid && !held.has(`${path}\n${content}`);
  if (owner.pid > 0 && !ours && isAlive(owner.pid))
    return { state: "alive", pid: owner.pid };
  return { state: "stale", content };
}

/**
 * Tries to take the lock at `path`. Returns its release function, or the holder when a live
 * process has it.
 */
async function acquire(
  path: string,
  depth: number,
): Promise<{ release: () => Promise<void> } | { busy: number | undefined }> {
  const content = JSON.stringify({
    pid: process.pid,
    nonce: randomBytes(12).toString("hex"),
  } satisfies Owner);
  const temp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(temp, content, { flag: "wx" });
  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        await link(temp, path);
        const key = `${path}\n${content}`;
        held.add(key);
        return {
          release: async () => {
            held.delete(key);
            const now = await readFile(path, "utf8").catch(() => undefined);
            if (now === content) await unlink(path).catch(() => undefined);
          },
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holder = await inspect(path);
      if (holder.state === "alive") return { busy: holder.pid };
      if (holder.state === "stale") {
        if (depth >= MAX_BREAK_DEPTH) return { busy: undefined };
        await breakStale(path, holder.content, depth);
      }
    }
    return { busy: undefined };
  } finally {
    await rm(temp, { force: true });
  }
}

/** Deletes the lock at `path` if it still holds `stale`, and only as the one process allowed to. */
async function breakStale(
  path: string,
  stale: string,
  depth: number,
): Promise<void> {
  const breaker = `${path}.break-${createHash("sha256").update(stale).digest("hex").slice(0, 16)}`;
  const taken = await acquire(breaker, depth + 1);
  if ("busy" in taken) {
    // Another process is breaking it right now: give it a moment, then race for the lock again.
    await sleep(1 + Math.random() * 5);
    return;
  }
  try {
    const now = await readFile(path, "utf8").catch(() => undefined);
    // While we hold the breaker nobody else can remove `stale`, and its owner is dead: safe to delete.
    if (now === stale) await unlink(path);
  } finally {
    await taken.release();
  }
}

/**
 * Locks a PGlite data directory for this process, or fails with DATABASE_UNAVAILABLE naming the
 * process that holds it.
 */
export async function lockDataDir(
  dataDir: string,
): Promise<() => Promise<void>> {
  const lockPath = `${dataDir}.lock`;
  await mkdir(dirname(lockPath), { recursive: true });
  const taken = await acquire(lockPath, 0);
  if ("release" in taken) return taken.release;
  const who =
    taken.busy === undefined
      ? "another process"
      : taken.busy === process.pid
        ? `this process (${taken.busy})`
        : `process ${taken.busy}`;
  throw new FeaturesError(
    "DATABASE_UNAVAILABLE",
    `the embedded database at ${dataDir} is in use by ${who}`,
    {
      hint: `Wait for that streamflow command to finish (or stop \`streamflow serve\`), or use a PostgreSQL server for concurrent work. If no streamflow process is running, delete ${lockPath}.`,
      details: {
        lockFile: lockPath,
        ...(taken.busy === undefined ? {} : { pid: taken.busy }),
      },
    },
  );
}
