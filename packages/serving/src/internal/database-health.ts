import type { Logger as PinoLogger } from "pino";
import type { SqlExecutor } from "@streamflow/features";
import { FeaturesError } from "@streamflow/features";
import type { ServingMetrics } from "./metrics.ts";

export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof FeaturesError && error.code === "DATABASE_UNAVAILABLE")
    return true;
  // A statement cancelled by its timeout: the server is there but not answering in time.
  const code = (error as { code?: unknown } | null)?.code;
  return code === "57014";
}

/**
 * A breaker in front of the database. The first request to fail on an outage opens it; from then
 * on requests get 503 at once instead of each waiting on a dead server, and a probe every
 * `probeIntervalMs` closes it again as soon as the database answers.
 */
export class DatabaseHealth {
  readonly #db: SqlExecutor;
  readonly #metrics: ServingMetrics;
  readonly #logger: PinoLogger;
  readonly #probeIntervalMs: number;
  #up = true;
  #since = new Date();
  #lastError: string | null = null;
  #timer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: {
    db: SqlExecutor;
    metrics: ServingMetrics;
    logger: PinoLogger;
    probeIntervalMs: number;
  }) {
    this.#db = options.db;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
    this.#probeIntervalMs = options.probeIntervalMs;
  }

  get up(): boolean {
    return this.#up;
  }

  get lastError(): string | null {
    return this.#lastError;
  }

  markDown(error: unknown): void {
    this.#lastError = error instanceof Error ? error.message : String(error);
    if (!this.#up || this.#stopped) return;
    this.#up = false;
    this.#since = new Date();
    this.#metrics.databaseUp.set(0);
    this.#logger.error(
      { err: error },
      `database unavailable, answering 503 until it is back: ${this.#lastError}`,
    );
    this.#scheduleProbe();
  }

  /** One `SELECT 1`; updates the state either way. */
  async ping(): Promise<boolean> {
    try {
      await this.#db.query("SELECT 1");
      this.#markUp();
      return true;
    } catch (error) {
      this.markDown(error);
      return false;
    }
  }

  /**
   * Pings every `intervalMs` while the database is up. With cached features most requests never
   * touch the database, so without a heartbeat an outage would go unnoticed until the cache expired.
   */
  startHeartbeat(intervalMs: number): void {
    if (intervalMs <= 0) return;
    let beating = false;
    this.#heartbeat = setInterval(() => {
      // A ping that hangs (a partitioned server) must not be joined by one more every interval.
      if (!this.#up || beating) return;
      beating = true;
      void this.ping().finally(() => (beating = false));
    }, intervalMs);
    this.#heartbeat.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#timer = undefined;
    this.#heartbeat = undefined;
  }

  #scheduleProbe(): void {
    // One probe loop at most, whoever noticed the outage first.
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.ping().then(() => {
        if (!this.#up) this.#scheduleProbe();
      });
    }, this.#probeIntervalMs);
    this.#timer.unref();
  }

  #markUp(): void {
    if (this.#up) return;
    const downMs = Date.now() - this.#since.getTime();
    this.#up = true;
    this.#since = new Date();
    this.#lastError = null;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#metrics.databaseUp.set(1);
    this.#logger.info(
      { down_ms: downMs },
      `database is back after ${(downMs / 1000).toFixed(1)} s`,
    );
  }
}
