import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { tmpdir } from "node:os";
import { promisify } from "node:util";
import { freePort } from "./ports.ts";

export interface PrivatePostgres extends AsyncDisposable {
  /** Superuser URL over TCP, e.g. postgres://postgres@127.0.0.1:41234/postgres (trust auth, no password). */
  url: string;
  port: number;
  /** The cluster's data directory (owned by the `postgres` user when the tests run as root). */
  dataDir: string;
  /** Server output: read it when a test fails oddly. */
  logFile: string;
  /** True between a successful start and a stop. */
  readonly running: boolean;
  /** Fast shutdown (`pg_ctl stop -m fast -w`): clients are disconnected, nothing else is touched. No-op when stopped. */
  stop(): Promise<void>;
  /** Starts the same cluster again on the same port and waits until it accepts connections. No-op when running. */
  start(): Promise<void>;
  /** Stops the server if it runs and removes its folder. Idempotent. */
  destroy(): Promise<void>;
}

const execFileAsync = promisify(execFile);
const PG_USER = "postgres";
/** Budget for one initdb or one `pg_ctl start/stop -w`. */
const STEP_TIMEOUT_S = 60;

const INSTALL_HINT =
  "Install the PostgreSQL server binaries (Debian/Ubuntu: apt-get install postgresql; Fedora/RHEL: dnf install postgresql-server; " +
  "macOS: brew install postgresql) or put the folder holding initdb and pg_ctl on PATH.";

function hasServerBinaries(dir: string): boolean {
  return existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl"));
}

/**
 * The folder holding initdb and pg_ctl. pg_config alone is not enough: on Debian it can come from
 * libpq-dev and name a version folder without the server, so every candidate is checked.
 */
async function findBinDir(): Promise<string> {
  const candidates: string[] = [];
  try {
    candidates.push(
      (
        await execFileAsync("pg_config", ["--bindir"], { timeout: 10_000 })
      ).stdout.trim(),
    );
  } catch {
    // no pg_config: try the other places
  }
  const debianRoot = "/usr/lib/postgresql";
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot).filter((v) =>
      /^\d+(\.\d+)?$/.test(v),
    );
    versions.sort((a, b) => Number(b) - Number(a)); // newest first
    candidates.push(...versions.map((v) => join(debianRoot, v, "bin")));
  }
  candidates.push(
    ...(process.env["PATH"] ?? "").split(delimiter).filter((d) => d !== ""),
  );
  const found = candidates.find(hasServerBinaries);
  if (found === undefined) {
    throw new Error(
      `Cannot start a private PostgreSQL server for this test: no folder with both initdb and pg_ctl ` +
        `(looked at pg_config --bindir, ${debianRoot}/<version>/bin and PATH). ${INSTALL_HINT}`,
    );
  }
  return found;
}

/** uid and gid of the `postgres` OS user: initdb refuses to run as root, so as root the cluster belongs to it. */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  try {
    const uid = Number(
      (await execFileAsync("id", ["-u", PG_USER])).stdout.trim(),
    );
    const gid = Number(
      (await execFileAsync("id", ["-g", PG_USER])).stdout.trim(),
    );
    return { uid, gid };
  } catch (error) {
    throw new Error(
      `The tests run as root and PostgreSQL refuses to run as root, but there is no '${PG_USER}' OS user to run it as. ` +
        `Create one (useradd --system --user-group ${PG_USER}; installing the postgresql package does it) or run the tests as a non-root user.`,
      { cause: error },
    );
  }
}

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, "utf8")
      .trimEnd()
      .split("\n")
      .slice(-lines)
      .join("\n");
  } catch {
    return "(no server log)";
  }
}

/** PG* variables of the test process (PGDATA, PGPORT, PGHOST…) must not steer the tools: every setting is explicit. */
function toolEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith("PG")) env[key] = value;
  return env;
}

/** pid of the running postmaster, from the first line of postmaster.pid; undefined when it is not there. */
function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(
      readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0],
    );
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A PostgreSQL server of the test's own: `initdb` into a fresh folder under the temp dir, its own
 * TCP port on 127.0.0.1 and its own socket folder, so a test can stop and restart it (outages,
 * failover) without disturbing the shared test server or another test. Runs as the `postgres` OS
 * user when the tests run as root (initdb refuses root). Trust auth, fsync off: fast and
 * throwaway. Throws, saying what to install, when the server binaries cannot be found; never
 * skips. Dispose (or `destroy()`) to stop it and remove the folder; a test process that dies
 * without doing so still takes the server down with it.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const binDir = await findBinDir();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? await postgresUser() : undefined;

  const root = await mkdtemp(join(tmpdir(), "sf-private-pg-"));
  // The server writes its log and socket here, and initdb creates the data folder inside.
  if (owner !== undefined) await chown(root, owner.uid, owner.gid);
  const dataDir = join(root, "data");
  const logFile = join(root, "postgres.log");

  const tool = async (
    name: "initdb" | "pg_ctl",
    args: string[],
  ): Promise<void> => {
    const bin = join(binDir, name);
    const [file, argv] = asRoot
      ? ["runuser", ["-u", PG_USER, "--", bin, ...args]]
      : [bin, args];
    try {
      // cwd: the postgres user may not be allowed into the test's cwd (/root, a repo owned by root).
      await execFileAsync(file, argv, {
        cwd: root,
        env: toolEnv(),
        timeout: (STEP_TIMEOUT_S + 15) * 1000,
      });
    } catch (error) {
      const { stdout = "", stderr = "" } = error as {
        stdout?: string;
        stderr?: string;
      };
      throw new Error(
        `${name} ${args[0] === "-D" ? args.slice(2).join(" ") : args.join(" ")} failed for the private PostgreSQL in ${root}` +
          `${asRoot ? ` (run as ${PG_USER} via runuser)` : ""}:\n${`${stdout}\n${stderr}`.trim()}\n--- server log (last lines) ---\n${tail(logFile)}`,
        { cause: error },
      );
    }
  };

  // Whatever happens to the test (a crash, a worker killed on timeout), the server must not outlive it.
  const killOnExit = (): void => {
    const pid = postmasterPid(dataDir);
    if (pid !== undefined) {
      try {
        process.kill(pid, "SIGQUIT"); // immediate shutdown
      } catch {
        // already gone
      }
    }
    try {
      rmSync(root, { recursive: true, force: true });
    } catch {
      // best effort: the folder is under the temp dir
    }
  };
  process.once("exit", killOnExit);

  let port = 0;
  let running = false;
  const pgStart = async (): Promise<void> => {
    await tool("pg_ctl", [
      "-D",
      dataDir,
      // Passed through a shell by pg_ctl, hence the quotes around the path.
      "-o",
      `-p ${port} -k '${root}' -c listen_addresses=127.0.0.1 -c fsync=off`,
      "-l",
      logFile,
      "-t",
      String(STEP_TIMEOUT_S),
      "-w",
      "start",
    ]);
    running = true;
  };

  const destroy = async (): Promise<void> => {
    process.off("exit", killOnExit);
    if (running) {
      await tool("pg_ctl", [
        "-D",
        dataDir,
        "-m",
        "fast",
        "-t",
        String(STEP_TIMEOUT_S),
        "-w",
        "stop",
      ]).catch(() => {
        // pg_ctl could not stop it cleanly: make sure it is gone before the folder goes.
        const pid = postmasterPid(dataDir);
        if (pid !== undefined) process.kill(pid, "SIGKILL");
      });
      running = false;
    }
    await rm(root, { recursive: true, force: true });
  };

  try {
    // --no-sync: nothing here needs to survive a power cut. C locale and UTF-8: the environment's
    // locale may not be generated on this machine, and sorting must not depend on it.
    await tool("initdb", [
      "-D",
      dataDir,
      "-A",
      "trust",
      "-U",
      PG_USER,
      "--no-sync",
      "--encoding=UTF8",
      "--locale=C",
      "--no-instructions",
    ]);
    for (let attempt = 1; ; attempt += 1) {
      port = await freePort();
      try {
        await pgStart();
        break;
      } catch (error) {
        // The free port can be taken between our probe and the server's bind: try another.
        if (attempt < 3 && /address already in use/i.test(tail(logFile, 10)))
          continue;
        throw error;
      }
    }
  } catch (error) {
    await destroy().catch(() => undefined);
    throw error;
  }

  return {
    url: `postgres://${PG_USER}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    logFile,
    get running() {
      return running;
    },
    async stop() {
      if (!running) return;
      await tool("pg_ctl", [
        "-D",
        dataDir,
        "-m",
        "fast",
        "-t",
        String(STEP_TIMEOUT_S),
        "-w",
        "stop",
      ]);
      running = false;
    },
    async start() {
      if (running) return;
      await pgStart();
    },
    destroy,
    [Symbol.asyncDispose]: destroy,
  };
}
