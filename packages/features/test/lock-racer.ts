/**
 * A child process for data-dir-lock.int.test.ts: takes and releases the PGlite data directory lock
 * when its parent says so, reporting each outcome over IPC.
 */
import { lockDataDir } from "../src/internal/data-dir-lock.ts";

type Command =
  | { type: "take"; round: number; dataDir: string; at: number }
  | { type: "release"; round: number }
  | { type: "exit" };

let release: (() => Promise<void>) | undefined;
const send = (message: object) => process.send?.(message);

process.on("message", (command: Command) => {
  void (async () => {
    if (command.type === "take") {
      // Start together: wait for the common instant, the last millisecond spinning.
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, command.at - Date.now() - 2)),
      );
      while (Date.now() < command.at);
      try {
        release = await lockDataDir(command.dataDir);
        send({
          type: "result",
          round: command.round,
          pid: process.pid,
          won: true,
        });
      } catch (error) {
        send({
          type: "result",
          round: command.round,
          pid: process.pid,
          won: false,
          code: (error as { code?: string }).code,
          message: (error as Error).message,
        });
      }
    } else if (command.type === "release") {
      await release?.();
      release = undefined;
      send({ type: "released", round: command.round });
    } else {
      process.disconnect();
    }
  })();
});
send({ type: "ready", pid: process.pid });
