import type { StreamflowModel } from "@streamflow/core";

/** The registry facts a response names its model by. */
export interface ModelRef {
  name: string;
  version: string;
  /** The version's stage in the registry when it was loaded ("None" when it has none). */
  stage: string;
  /** The alias followed, when the URI names one. */
  alias: string | null;
  runId: string | null;
}

/** The model being served, verified and checked against the online store. */
export interface LoadedModel {
  ref: ModelRef;
  model: StreamflowModel;
  sha256: string;
  /** The model's input features, in schema order. */
  features: readonly string[];
  /** Feature views those features come from. */
  featureViews: readonly string[];
  loadedAt: Date;
}
