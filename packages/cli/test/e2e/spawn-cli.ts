import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const CLI_BIN = fileURLToPath(
  new URL("../../dist/bin.mjs", import.meta.url),
);

export function assertBuilt(): void {
  if (!existsSync(CLI_BIN))
    throw new Error(
      `${CLI_BIN} is missing: run \`pnpm build\` (pnpm test does it) before the e2e tests`,
    );
}

export interface Spawned {
  child: ChildProcess;
  done: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>;
  /** Resolves when stderr contains `text`. */
  waitForStderr(text: string): Promise<void>;
  /** Everything printed on stdout so far. */
  stdout(): string;
  /** Everything printed on stderr so far. */
  stderr(): string;
}

export function spawnCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd: string },
): Spawned {
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...options.env,
  };
  for (const key of Object.keys(env))
    if (env[key] === undefined) delete env[key];
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: options.cwd,
    env: env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
    for (const w of waiters.splice(0)) {
      if (stderr.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  });
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((resolve) =>
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout, stderr }),
    ),
  );
  return {
    child,
    done,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForStderr: (text) =>
      new Promise<void>((resolve, reject) => {
        if (stderr.includes(text)) return resolve();
        waiters.push({ text, resolve });
        void done.then(() =>
          reject(
            new Error(
              `process ended before printing '${text}'. stderr:\n${stderr}`,
            ),
          ),
        );
      }),
  };
}

export async function runCliProcess(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd: string },
) {
  return spawnCli(args, options).done;
}
