import type { Logger as PinoLogger } from "pino";
import {
  latestDriftReport,
  type SqlExecutor,
  type StoredDriftReport,
} from "@streamflow/features";
import type { ServingMetrics } from "./metrics.ts";

/**
 * Mirrors the newest `drift_reports` row into the drift gauges, so Prometheus can alert on a
 * report that `streamflow drift` wrote in another process (a CI job, the monthly pipeline).
 * A failed read keeps the last values: a database outage is its own alert, and must not look
 * like the drift going away.
 */
export class DriftGauges {
  readonly #db: SqlExecutor;
  readonly #metrics: ServingMetrics;
  readonly #logger: PinoLogger;
  #shownId: number | undefined;
  #failing = false;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: {
    db: SqlExecutor;
    metrics: ServingMetrics;
    logger: PinoLogger;
  }) {
    this.#db = options.db;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
  }

  /** Reads the latest report now; never throws. */
  refresh(): Promise<void> {
    this.#running ??= this.#read().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Refreshes every `intervalMs`; 0 reads only at start. */
  start(intervalMs: number): void {
    if (intervalMs <= 0 || this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.refresh(), intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  async #read(): Promise<void> {
    let report: StoredDriftReport | null;
    try {
      report = await latestDriftReport({ db: this.#db });
    } catch (error) {
      if (!this.#failing)
        this.#logger.warn(
          { err: error },
          `cannot read the latest drift report, keeping the last values: ${(error as Error).message}`,
        );
      this.#failing = true;
      return;
    }
    if (this.#failing) this.#logger.info("drift reports readable again");
    this.#failing = false;
    if (report === null || report.id === this.#shownId) return;
    this.#show(report);
    this.#shownId = report.id;
    this.#logger.info(
      {
        reference: report.reference,
        current: report.current,
        drift_share: report.driftShare,
      },
      `drift gauges from the report of ${report.reference} vs ${report.current}`,
    );
  }

  #show(report: StoredDriftReport): void {
    const m = this.#metrics;
    // A feature the new report does not score must not keep the old report's value.
    m.featureDriftScore.reset();
    m.featureDrifted.reset();
    m.driftReportInfo.reset();
    for (const f of report.features) {
      if (f.score !== null)
        m.featureDriftScore
          .labels({ feature: f.feature, method: f.method })
          .set(f.score);
      m.featureDrifted.labels({ feature: f.feature }).set(f.drifted ? 1 : 0);
    }
    m.driftShare.set(report.driftShare);
    m.datasetDrift.set(report.datasetDrift ? 1 : 0);
    m.predictionDriftScore.reset();
    if (report.predictionScore !== null && report.model !== null)
      m.predictionDriftScore
        .labels({ model_version: report.model.version })
        .set(report.predictionScore);
    m.driftReportTimestamp.set(report.createdAt.getTime() / 1000);
    m.driftReportInfo
      .labels({ reference: report.reference, current: report.current })
      .set(1);
  }
}
