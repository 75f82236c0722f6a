import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
} from "prom-client";

// Sub-millisecond buckets first: a prediction here takes about a millisecond, and the lab's default
// buckets (5 ms and up) would put every request in the first one.
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
  10,
];

/** Twenty equal bins over [0, 1]: fine enough to see a score distribution move between two days. */
export const PROBABILITY_BUCKETS = Array.from(
  { length: 19 },
  (_, i) => Math.round((i + 1) * 5) / 100,
);

/**
 * The server's Prometheus metrics, in a registry of its own (several servers can share a process).
 * Labels are routes, methods, statuses and model facts, never a user id.
 */
export class ServingMetrics {
  readonly registry = new Registry();
  /** The lab's counter, kept by name so its dashboards work; labelled by route and status. */
  readonly requests = new Counter({
    name: "api_requests_total",
    help: "HTTP requests answered, by route template, method and status code",
    labelNames: ["endpoint", "method", "status"] as const,
    registers: [this.registry],
  });
  /** The lab's histogram, kept by name; `_sum / _count` is its mean-latency panel. */
  readonly latency = new Histogram({
    name: "api_request_latency_seconds",
    help: "Time from request received to response sent, by route template",
    labelNames: ["endpoint", "method"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly featureLookup = new Histogram({
    name: "streamflow_feature_lookup_seconds",
    help: "Online-store read time per query: kind single (concurrent /predict lookups share one query) or batch",
    labelNames: ["kind"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly featureCache = new Counter({
    name: "streamflow_feature_cache_total",
    help: "Online-feature lookups answered from the in-process cache (hit) or the database (miss)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly predictions = new Counter({
    name: "streamflow_predictions_total",
    help: "Users scored, by outcome (predicted, user_not_found)",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly modelInfo = new Gauge({
    name: "streamflow_model_info",
    help: "1 for the model being served, labelled by its registry facts",
    labelNames: ["name", "version", "stage", "alias", "run_id"] as const,
    registers: [this.registry],
  });
  readonly modelVersion = new Gauge({
    name: "streamflow_model_version",
    help: "Registered version number of the model being served (0 when none is loaded)",
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: "streamflow_model_reloads_total",
    help: "Model (re)loads: success when a new version went live, failure when a load or registry check failed",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly registryReachable = new Gauge({
    name: "streamflow_registry_reachable",
    help: "1 when the last registry check got an answer, 0 when the registry could not be reached",
    registers: [this.registry],
  });
  readonly lastRegistryCheck = new Gauge({
    name: "streamflow_registry_last_check_timestamp_seconds",
    help: "Unix time of the last registry check",
    registers: [this.registry],
  });
  readonly databaseUp = new Gauge({
    name: "streamflow_database_up",
    help: "1 while the database answers, 0 during an outage",
    registers: [this.registry],
  });

  /** Every score served, cached or fresh, so the histogram is what clients received. */
  readonly churnProbability = new Histogram({
    name: "streamflow_churn_probability",
    help: "Churn probabilities served, by the model version that produced them",
    labelNames: ["model_version"] as const,
    buckets: PROBABILITY_BUCKETS,
    registers: [this.registry],
  });
  // From the latest `streamflow drift` report in the store (drift_reports), refreshed on a timer.
  readonly featureDriftScore = new Gauge({
    name: "streamflow_feature_drift_score",
    help: "Per-feature drift score of the latest drift report (method as the report chose it)",
    labelNames: ["feature", "method"] as const,
    registers: [this.registry],
  });
  readonly featureDrifted = new Gauge({
    name: "streamflow_feature_drifted",
    help: "1 for a feature the latest drift report found drifted, 0 otherwise",
    labelNames: ["feature"] as const,
    registers: [this.registry],
  });
  readonly driftShare = new Gauge({
    name: "streamflow_drift_share",
    help: "Share of tested features that drifted, in the latest drift report",
    registers: [this.registry],
  });
  readonly datasetDrift = new Gauge({
    name: "streamflow_dataset_drift",
    help: "1 when the latest drift report found dataset drift (drift share at or above its --drift-share)",
    registers: [this.registry],
  });
  readonly predictionDriftScore = new Gauge({
    name: "streamflow_prediction_drift_score",
    help: "Prediction-drift score of the latest drift report, when it compared a model, by that model's version",
    labelNames: ["model_version"] as const,
    registers: [this.registry],
  });
  readonly driftReportTimestamp = new Gauge({
    name: "streamflow_drift_report_timestamp_seconds",
    help: "Unix time the latest drift report was recorded",
    registers: [this.registry],
  });
  readonly driftReportInfo = new Gauge({
    name: "streamflow_drift_report_info",
    help: "1 for the latest drift report, labelled by the two periods it compared",
    labelNames: ["reference", "current"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const result of ["success", "failure"])
      this.reloads.labels({ result }).inc(0);
    for (const outcome of ["predicted", "user_not_found"])
      this.predictions.labels({ outcome }).inc(0);
    this.databaseUp.set(1);
  }
}
