import type { Logger, ProgressEvent, ProgressListener } from "@streamflow/core";
import chalk, { Chalk } from "chalk";
import type { ResolvedConfig } from "./config.ts";
import type { CliIo } from "./io.ts";

/** What a command handler gets: configuration resolved once, and the only ways to print. */
export interface CommandContext {
  io: CliIo;
  config: ResolvedConfig;
  logger: Logger;
  progress: ProgressListener;
  /** Prints the command's result: the JSON object with --json, else the human text. Once per run. */
  result(json: object, human: () => string): void;
  /** True once a result was printed (so an error after it does not print a second JSON object). */
  readonly printed: boolean;
  /** Ends the progress line, if one is showing. */
  finishProgress(): void;
}

export function createContext(
  io: CliIo,
  config: ResolvedConfig,
): CommandContext {
  const tty = io.stderr.isTTY === true;
  const color = tty ? chalk : new Chalk({ level: 0 });
  let printed = false;
  let lastDraw = 0;
  let lastPhase = "";
  let lineOpen = false;

  const clearLine = () => {
    if (lineOpen) {
      io.stderr.write("\r\x1b[2K");
      lineOpen = false;
    }
  };
  const logger: Logger = {
    debug: (m) => {
      if (config.verbose) {
        clearLine();
        io.stderr.write(color.gray(`debug ${m}`) + "\n");
      }
    },
    info: (m) => {
      if (config.verbose || (tty && !config.json)) {
        clearLine();
        io.stderr.write(`${color.cyan("›")} ${m}\n`);
      }
    },
    warn: (m) => {
      clearLine();
      io.stderr.write(`${color.yellow("warning")} ${m}\n`);
    },
  };

  const progress = (e: ProgressEvent) => {
    if (!tty) {
      // Logs and CI get one line per phase, not a redrawn bar.
      if (e.phase !== lastPhase && config.verbose)
        io.stderr.write(`… ${e.phase}\n`);
      lastPhase = e.phase;
      return;
    }
    const now = Date.now();
    const finished = e.total !== undefined && e.done >= e.total;
    if (now - lastDraw < 80 && !finished && e.phase === lastPhase) return;
    lastDraw = now;
    lastPhase = e.phase;
    const width = Math.max(10, Math.min(30, (io.stderr.columns ?? 80) - 50));
    let text: string;
    if (e.total !== undefined && e.total > 0) {
      const share = Math.min(1, e.done / e.total);
      const filled = Math.round(share * width);
      text = `${color.cyan("█".repeat(filled))}${color.gray("░".repeat(width - filled))} ${String(Math.round(share * 100)).padStart(3)}% ${e.phase}`;
    } else {
      text = `${e.phase} ${e.done.toLocaleString("en-US")}`;
    }
    io.stderr.write(`\r\x1b[2K${text}`);
    lineOpen = true;
  };

  return {
    io,
    config,
    logger,
    progress,
    finishProgress: clearLine,
    get printed() {
      return printed;
    },
    result(json, human) {
      clearLine();
      io.stdout.write(
        config.json ? JSON.stringify(json, null, 2) + "\n" : human() + "\n",
      );
      printed = true;
    },
  };
}
