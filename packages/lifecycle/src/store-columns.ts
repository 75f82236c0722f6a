import type { StoreLayout } from "@streamflow/features";
import type { StoreColumn } from "./verified-model.ts";

/** Every declared feature with the view it comes from: what the offline store offers a model. */
export function offlineColumns(layout: StoreLayout): StoreColumn[] {
  return layout.views.flatMap((v) =>
    v.features.map((f) => ({
      name: f.name,
      type: f.type,
      featureView: v.name,
    })),
  );
}
