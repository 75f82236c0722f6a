/** Shared by the suites that measure the built CLI as a user runs it: one process per command, its peak RSS, a fresh database. */
import { execFileSync, spawn } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const CLI = join(ROOT, "packages/cli/dist/bin.mjs");
/** Loaded with --import into a measured process: writes its peak RSS where the bench asks. */
export const PROBE = join(ROOT, "bench/rss-probe.mjs");
export const ADMIN_URL =
  process.env["STREAMFLOW_TEST_DATABASE_URL"] ??
  "postgres://postgres@127.0.0.1:5432/postgres";

export interface Measured {
  seconds: number;
  rssMiB: number;
  stdout: string;
}

/** Runs `streamflow ARGS --json` in its own process; wall time includes start-up, as a user sees it. */
export async function cli(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<Measured> {
  const rssFile = join(
    tmpdir(),
    `sf-rss-${process.pid}-${Math.random().toString(36).slice(2)}`,
  );
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ["--import", PROBE, CLI, ...args, "--json"],
    {
      env: { ...process.env, ...env, STREAMFLOW_BENCH_RSS_FILE: rssFile },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let stdout = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((resolve) =>
    child.on("close", resolve),
  );
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0)
    throw new Error(`streamflow ${args.join(" ")} exited ${code}: ${stdout}`);
  const rssKiB = Number(
    (await readFile(rssFile, "utf8")).trim().split("\n").pop(),
  );
  await rm(rssFile, { force: true });
  return { seconds, rssMiB: rssKiB / 1024, stdout };
}

export function psql(url: string, sql: string): void {
  execFileSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

/** Drops and creates database `name` on the bench server; returns its URL. */
export function freshDatabase(name: string): string {
  psql(ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  psql(ADMIN_URL, `CREATE DATABASE ${name}`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

export function dropDatabase(name: string): void {
  psql(ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

export const fmt = (n: number, digits = 1) =>
  n.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });

/** `--name=N` from a suite's arguments, or the fallback. */
export const numberFlag = (args: string[], name: string, fallback: number) =>
  Number(
    args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback,
  );

/** `generate-data` for `months` months of `users` users into `out`, timed like every other command. */
export function generateMonths(
  options: { users: number; months: number; out: string; seed?: number },
  env: Record<string, string | undefined> = {},
): Promise<Measured> {
  return cli(
    [
      "generate-data",
      "--users",
      String(options.users),
      "--months",
      String(options.months),
      ...(options.seed === undefined ? [] : ["--seed", String(options.seed)]),
      "--out",
      options.out,
    ],
    env,
  );
}
