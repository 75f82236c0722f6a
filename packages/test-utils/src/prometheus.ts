import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.ts";

/** Debian's prometheus (what .ci/run installs), or the binary STREAMFLOW_PROMETHEUS names. */
export function prometheusBinary(name: "prometheus" | "promtool"): string {
  const path =
    name === "prometheus"
      ? (process.env["STREAMFLOW_PROMETHEUS"] ?? "/usr/bin/prometheus")
      : (process.env["STREAMFLOW_PROMTOOL"] ?? "/usr/bin/promtool");
  if (!existsSync(path))
    throw new Error(
      `no ${name} at ${path}: install it (apt-get install prometheus; .ci/run does) or set STREAMFLOW_${name.toUpperCase()}`,
    );
  return path;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusServer {
  url: string;
  /** An instant query through the HTTP API; throws on a query error. */
  query(expr: string): Promise<PromSample[]>;
  /** The server's stderr so far, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * A real Prometheus on a free loopback port, with its own storage, running `config` (YAML text).
 * Files the config names (rule files) go in `files`, written beside it.
 */
export async function startPrometheus(
  config: string,
  files: Record<string, string> = {},
): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), "sf-prometheus-"));
  await writeFile(join(dir, "prometheus.yml"), config);
  for (const [name, text] of Object.entries(files))
    await writeFile(join(dir, name), text);
  const port = await freePort();
  const child = spawn(
    prometheusBinary("prometheus"),
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.on("close", resolve));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`prometheus exited at start:\n${log}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`prometheus not ready after 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    log: () => log,
    async query(expr) {
      const response = await fetch(
        `${url}/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: PromSample[] | [number, string] };
      };
      if (body.status !== "success")
        throw new Error(`query failed: ${expr}: ${body.error}`);
      const { resultType, result } = body.data!;
      // A scalar (e.g. time()) comes back as one [t, v] pair.
      return resultType === "scalar"
        ? [{ metric: {}, value: result as [number, string] }]
        : (result as PromSample[]);
    },
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
