import { main } from "../src/main.ts";

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json(): Record<string, unknown>;
}

/** Runs the CLI in-process with its own env and cwd, capturing both streams. */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
  cwd: string,
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const exitCode = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env,
    cwd,
  });
  return {
    exitCode,
    stdout,
    stderr,
    json: () => JSON.parse(stdout) as Record<string, unknown>,
  };
}
