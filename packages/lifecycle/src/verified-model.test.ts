import { describe, expect, it } from "vitest";
import { trainModel, type StreamflowModel } from "@streamflow/core";
import type { OnlineStoreDescription } from "@streamflow/features";
import { describeTarget, parseModelTarget } from "./model-target.ts";
import { checkModelAgainstStore } from "./verified-model.ts";
import { parseCalendarDay } from "@streamflow/core";

async function tinyModel(): Promise<StreamflowModel> {
  const rows = Array.from({ length: 40 }, (_, i) => ({
    net_service: i % 3 === 0 ? "DSL" : "No",
    monthly_fee: 20 + i,
    paperless_billing: i % 2 === 0 ? true : null,
  }));
  const { model } = await trainModel({
    rows,
    labels: rows.map((_, i) => (i % 4 === 0 ? 1 : 0)),
    schema: {
      categorical_cols: ["net_service"],
      numeric_cols: ["monthly_fee"],
      boolean_cols: ["paperless_billing"],
    },
    asOf: parseCalendarDay("2024-01-31"),
    datasetFingerprint: "test",
    forest: { nEstimators: 3 },
    jobs: 1,
  });
  return model;
}

const store = (types: Record<string, string>): OnlineStoreDescription => ({
  columns: Object.entries(types).map(([name, type]) => ({
    name,
    type: type as "text",
    featureView: name === "monthly_fee" ? "payments_fv" : "subs_fv",
  })),
  materializedAsOf: {},
});

describe("parseModelTarget", () => {
  it.each([
    [
      "models:/streamflow_churn/Production",
      { kind: "stage", name: "streamflow_churn", stage: "Production" },
    ],
    [
      "models:/streamflow_churn/production",
      { kind: "stage", name: "streamflow_churn", stage: "Production" },
    ],
    [
      "models:/streamflow_churn@champion",
      { kind: "alias", name: "streamflow_churn", alias: "champion" },
    ],
    [
      "models:/streamflow_churn/3",
      { kind: "version", name: "streamflow_churn", version: "3" },
    ],
    [
      "models:/streamflow_churn/latest",
      { kind: "latest", name: "streamflow_churn" },
    ],
  ])("follows %s", (uri, target) => {
    expect(parseModelTarget(uri)).toEqual(target);
    expect(describeTarget(parseModelTarget(uri))).toBe(
      uri.replace("production", "Production"),
    );
  });

  it.each([
    "runs:/abc/model",
    "file:///tmp/model",
    "models:/m-0123abcd",
    "streamflow_churn",
  ])("refuses %s: only a registered model can be followed", (uri) => {
    expect(() => parseModelTarget(uri)).toThrow(
      expect.objectContaining({ code: "REGISTRY_URI_INVALID" }),
    );
  });
});

describe("checkModelAgainstStore", () => {
  it("returns the feature views the model reads when every feature is online with a fitting type", async () => {
    const model = await tinyModel();
    expect(
      checkModelAgainstStore(
        model,
        store({
          net_service: "text",
          monthly_fee: "double",
          paperless_billing: "boolean",
          extra: "integer",
        }),
      ).sort(),
    ).toEqual(["payments_fv", "subs_fv"]);
    expect(
      checkModelAgainstStore(
        model,
        store({
          net_service: "text",
          monthly_fee: "integer",
          paperless_billing: "boolean",
        }),
      ).length,
    ).toBe(2);
  });

  it("refuses a model whose features are missing online or typed otherwise, naming every problem", async () => {
    const model = await tinyModel();
    const check = () =>
      checkModelAgainstStore(
        model,
        store({ net_service: "double", paperless_billing: "boolean" }),
      );
    expect(check).toThrow(
      expect.objectContaining({ code: "MODEL_SCHEMA_MISMATCH" }),
    );
    expect(check).toThrow(
      /'net_service' is categorical in the model but double in the store; 'monthly_fee' is not in the store/,
    );
  });
});
