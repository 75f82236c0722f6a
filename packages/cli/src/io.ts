/** Everything a command touches outside itself; tests pass their own to run commands in-process. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /**
   * Resolves with the signal's name when the process is asked to stop (SIGTERM, SIGINT); long-running
   * commands (`serve`) wait on it. Absent in tests that never stop a server this way.
   */
  stopRequested?: () => Promise<string>;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    stopRequested: () =>
      new Promise((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          process.off("SIGTERM", stop);
          process.off("SIGINT", stop);
          resolve(signal);
          // A second signal while draining means "now": the default handler ends the process.
        };
        process.on("SIGTERM", stop);
        process.on("SIGINT", stop);
      }),
  };
}
