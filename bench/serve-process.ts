/**
 * A server under test in its own process: started, watched through /proc (Linux), stopped with
 * SIGTERM. Used by bench/serve.ts for both `streamflow serve` and the hello-world anchor.
 */
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";

export interface StartOptions {
  /** Label used in error messages. */
  name: string;
  args: string[];
  /** The whole environment of the child (nothing is inherited implicitly). */
  env: NodeJS.ProcessEnv;
  /** @default 60000 */
  startTimeoutMs?: number;
}

export interface Memory {
  /** VmRSS now. */
  rssMiB: number;
  /** VmHWM: the peak RSS so far. */
  peakMiB: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when SIGTERM was not enough and the process had to be killed. */
  killed: boolean;
}

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** The JSON object the server printed on stdout once listening. */
  readonly info: Record<string, unknown>;
  /** Everything written on stderr so far (the service logs JSON lines there). */
  stderr(): string;
  memory(): Memory | undefined;
  /** User + system CPU time of the process so far. */
  cpuSeconds(): number | undefined;
  stop(): Promise<Exit>;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(
        execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim(),
      );
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return undefined;
  }
}

function statusKiB(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return match === null ? Number.NaN : Number(match[1]);
}

/** The first complete JSON object on stdout (the CLI pretty-prints it over several lines). */
function parseInfo(stdout: string): Record<string, unknown> | undefined {
  const start = stdout.indexOf("{");
  if (start < 0) return undefined;
  try {
    return JSON.parse(stdout.slice(start)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export async function startServer(
  options: StartOptions,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, options.args, {
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Exit>((resolve) =>
    child.on("exit", (code, signal) =>
      resolve({ code, signal, killed: false }),
    ),
  );
  let finished: Exit | undefined;
  void exited.then((e) => (finished = e));

  const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `${options.name}: no URL on stdout after ${options.startTimeoutMs ?? 60_000} ms\n${stderr}`,
        ),
      );
    }, options.startTimeoutMs ?? 60_000);
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      const parsed = parseInfo(stdout);
      if (parsed !== undefined) {
        clearTimeout(timer);
        resolve(parsed);
      }
    });
    void exited.then((e) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${options.name} exited (code ${e.code}, signal ${e.signal}) before listening\n${stdout}${stderr}`,
        ),
      );
    });
  });
  if (typeof info["url"] !== "string") {
    child.kill("SIGKILL");
    throw new Error(`${options.name}: no url in ${JSON.stringify(info)}`);
  }
  const pid = child.pid!;

  return {
    url: info["url"],
    pid,
    info,
    stderr: () => stderr,
    memory() {
      const status = readProc(pid, "status");
      if (status === undefined) return undefined;
      return {
        rssMiB: statusKiB(status, "VmRSS") / 1024,
        peakMiB: statusKiB(status, "VmHWM") / 1024,
      };
    },
    cpuSeconds() {
      const stat = readProc(pid, "stat");
      if (stat === undefined) return undefined;
      // Fields after "pid (comm) " start at field 3 (state); utime and stime are fields 14, 15.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
    },
    async stop() {
      if (finished !== undefined) return finished;
      child.kill("SIGTERM");
      const timeout = new Promise<undefined>((resolve) =>
        setTimeout(() => resolve(undefined), 15_000).unref(),
      );
      const graceful = await Promise.race([exited, timeout]);
      if (graceful !== undefined) return graceful;
      child.kill("SIGKILL");
      return { ...(await exited), killed: true };
    },
  };
}
