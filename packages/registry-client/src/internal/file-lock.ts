import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import {
  link,
  mkdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from "node:fs/promises";
import { dirname } from "node:path";
import { RegistryError } from "../errors.ts";
import { tempSibling } from "./files.ts";

export interface FileLockOptions {
  path: string;
  /** Give up waiting after this long. */
  timeoutMs: number;
  /** A lock older than this is taken over even when its owner cannot be checked (another host). */
  staleMs: number;
}

interface LockOwner {
  pid: number;
  host: string;
  nonce: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as LockOwner;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` while holding an exclusive lock file. The file is created complete and atomically
 * (write a temp file, then `link`, which fails if the lock exists), so a waiter never reads a
 * half-written owner. A lock whose owner process is gone (same host) or that is older than
 * `staleMs` is taken over.
 */
export async function withFileLock<T>(
  options: FileLockOptions,
  fn: () => Promise<T>,
): Promise<T> {
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    nonce: randomBytes(8).toString("hex"),
  };
  await mkdir(dirname(options.path), { recursive: true });
  const temp = tempSibling(options.path);
  await writeFile(temp, JSON.stringify(owner));
  const deadline = Date.now() + options.timeoutMs;
  try {
    for (;;) {
      try {
        await link(temp, options.path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holder = await readOwner(options.path);
      if (holder !== undefined && (await isStale(options, holder))) {
        await breakLock(options.path, holder);
        continue;
      }
      if (Date.now() > deadline) {
        throw new RegistryError(
          "REGISTRY_LOCK_TIMEOUT",
          `The local registry is locked by ${holder === undefined ? "another process" : `process ${holder.pid} on ${holder.host}`}; waited ${options.timeoutMs / 1000} s.`,
          {
            hint: `If no StreamFlow process is running, delete ${options.path}.`,
            details: { lockFile: options.path },
          },
        );
      }
      // Critical sections last milliseconds: poll briefly, with jitter so waiters do not move in step.
      await sleep(2 + Math.random() * 10);
    }
  } finally {
    await rm(temp, { force: true });
  }
  try {
    return await fn();
  } finally {
    const still = await readOwner(options.path);
    if (still?.nonce === owner.nonce)
      await unlink(options.path).catch(() => undefined);
  }
}

async function isStale(
  options: FileLockOptions,
  holder: LockOwner,
): Promise<boolean> {
  if (holder.host === hostname()) return !isAlive(holder.pid);
  try {
    return Date.now() - (await stat(options.path)).mtimeMs > options.staleMs;
  } catch {
    return false;
  }
}

/**
 * Removes a stale lock without deleting a fresh one that replaced it meanwhile: the rename moves
 * exactly one file, and if that turns out to be a live owner's we put it back.
 */
async function breakLock(path: string, stale: LockOwner): Promise<void> {
  const aside = `${path}.stale-${randomBytes(6).toString("hex")}`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else broke it first
  }
  const moved = await readOwner(aside);
  if (moved !== undefined && moved.nonce !== stale.nonce)
    await link(aside, path).catch(() => undefined);
  await rm(aside, { force: true });
}
