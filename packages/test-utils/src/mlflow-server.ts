import { spawn, execFile, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "./lab-data.ts";
import { freePort } from "./ports.ts";

/** The MLflow lines every registry integration test runs against. */
export const MLFLOW_LINES = ["2", "3"] as const;
export type MlflowLine = (typeof MLFLOW_LINES)[number];

export interface MlflowServer extends AsyncDisposable {
  /** Root URL, e.g. http://127.0.0.1:41234. */
  url: string;
  line: MlflowLine;
  /** What the server's /version says. */
  version: string;
  /** True when the server came from the environment and is not ours to stop. */
  external: boolean;
  /** Server output (ours only): read it when a test fails oddly. */
  logFile: string | undefined;
  stop(): Promise<void>;
}

export interface StartMlflowServerOptions {
  line: MlflowLine;
  /** Budget for venv creation (first run only) plus server start. @default 110000 */
  timeoutMs?: number;
}

const execFileAsync = promisify(execFile);

async function fetchText(
  url: string,
): Promise<{ status: number; text: string } | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return { status: response.status, text: (await response.text()).trim() };
  } catch {
    return undefined;
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
    return "(no server output)";
  }
}

/** Path of the line's venv, created (or reused) by scripts/mlflow-venv.sh, which holds the pins and the lock. */
async function ensureVenv(
  line: MlflowLine,
  timeoutMs: number,
): Promise<string> {
  const script = join(REPO_ROOT, "scripts", "mlflow-venv.sh");
  try {
    await execFileAsync("bash", [script, line], {
      cwd: REPO_ROOT,
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(
      `Cannot provide an MLflow ${line}.x server for the integration tests: 'bash scripts/mlflow-venv.sh ${line}' failed.\n` +
        `${stderr
          .split("\n")
          .filter((l) => !l.startsWith("WARNING"))
          .slice(-15)
          .join("\n")}\n` +
        "Install Python 3.10+ with venv and pip (Debian: apt-get install python3 python3-venv python3-pip) and make PyPI reachable, " +
        `or set STREAMFLOW_TEST_MLFLOW_URI_${line} (or MLFLOW_TRACKING_URI) to a running MLflow server.`,
      { cause: error },
    );
  }
  return join(REPO_ROOT, ".cache", `mlflow-venv-${line}`);
}

function serverEnv(): NodeJS.ProcessEnv {
  // The test process's MLflow settings must not steer the server we start (backend, artifact root…).
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith("MLFLOW_")) env[key] = value;
  // 3.x starts a job runner and seven huey consumers for GenAI jobs by default: 25 s and a core
  // each at startup, unused by the registry. 2.x ignores the variable.
  env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false";
  return env;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    // Negative pid: the whole group, so gunicorn/uvicorn workers go with the CLI process.
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once("exit", () => resolve()));
}

async function externalServer(
  line: MlflowLine,
  url: string,
): Promise<MlflowServer> {
  const version = await fetchText(`${url.replace(/\/+$/, "")}/version`);
  if (version === undefined)
    throw new Error(
      `The MLflow server named for the ${line}.x tests (${url}) does not answer /version.`,
    );
  const stop = (): Promise<void> => Promise.resolve();
  return {
    url: url.replace(/\/+$/, ""),
    line,
    version: version.text,
    external: true,
    logFile: undefined,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * A real MLflow tracking server of one line for integration tests: the one named by
 * `STREAMFLOW_TEST_MLFLOW_URI_<line>` or `MLFLOW_TRACKING_URI` when set (not stopped), else a fresh
 * `mlflow server` from the cached venv on 127.0.0.1, with a SQLite backend and proxied artifacts in
 * a temp folder, stopped (process group killed, folder removed) on dispose. Throws, saying what to
 * install, when Python or the package cannot be had; never fakes a server.
 */
export async function startMlflowServer(
  options: StartMlflowServerOptions,
): Promise<MlflowServer> {
  const { line } = options;
  const timeoutMs = options.timeoutMs ?? 110_000;
  const named =
    process.env[`STREAMFLOW_TEST_MLFLOW_URI_${line}`] ??
    process.env["MLFLOW_TRACKING_URI"];
  if (named !== undefined && named !== "") return externalServer(line, named);

  const started = Date.now();
  const venv = await ensureVenv(line, timeoutMs);
  const dir = await mkdtemp(join(tmpdir(), `sf-mlflow-${line}-`));
  const logFile = join(dir, "server.log");

  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const log = openSync(logFile, "a");
    const child = spawn(
      join(venv, "bin", "mlflow"),
      [
        "server",
        "--backend-store-uri",
        `sqlite:///${join(dir, "mlflow.db")}`,
        "--artifacts-destination",
        join(dir, "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        // One worker: SQLite and two shared cores do not gain from more.
        "--workers",
        "1",
      ],
      {
        cwd: dir,
        env: serverEnv(),
        detached: true,
        stdio: ["ignore", log, log],
      },
    );
    closeSync(log);
    child.unref();
    const killOnExit = (): void => killGroup(child, "SIGKILL");
    process.once("exit", killOnExit);

    const stop = async (): Promise<void> => {
      process.off("exit", killOnExit);
      killGroup(child, "SIGTERM");
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), 10_000);
      await exited(child);
      clearTimeout(timer);
      killGroup(child, "SIGKILL"); // workers that outlived their master
      await rm(dir, { recursive: true, force: true });
    };

    let died = false;
    void exited(child).then(() => (died = true));
    while (!died && Date.now() - started < timeoutMs) {
      const health = await fetchText(`${url}/health`);
      if (health?.status === 200) {
        const version = (await fetchText(`${url}/version`))?.text ?? "unknown";
        return {
          url,
          line,
          version,
          external: false,
          logFile,
          stop,
          [Symbol.asyncDispose]: stop,
        };
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const output = tail(logFile);
    process.off("exit", killOnExit);
    killGroup(child, "SIGKILL");
    await exited(child);
    // The free port can be taken between our probe and the server's bind: try another.
    if (died && attempt < 3 && /address already in use/i.test(output)) continue;
    throw new Error(
      `MLflow ${line}.x server ${died ? `exited (code ${child.exitCode ?? child.signalCode})` : `did not answer /health within ${timeoutMs / 1000} s`} ` +
        `(venv ${venv}, log ${logFile}):\n${output}`,
    );
  }
}
