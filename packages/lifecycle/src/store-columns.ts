import { FEATURE_VIEWS } from "@streamflow/features";
import type { StoreColumn } from "./verified-model.ts";

/** Every declared feature with the view it comes from: what the offline store offers a model. */
export function offlineColumns(): StoreColumn[] {
  return FEATURE_VIEWS.flatMap((v) =>
    v.features.map((f) => ({
      name: f.name,
      type: f.type,
      featureView: v.name,
    })),
  );
}
