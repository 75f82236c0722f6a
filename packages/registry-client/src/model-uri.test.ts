import { describe, expect, it } from "vitest";
import { RegistryError } from "./errors.ts";
import { parseModelUri } from "./model-uri.ts";

describe("parseModelUri", () => {
  it.each([
    [
      "models:/streamflow_churn/3",
      { kind: "version", name: "streamflow_churn", version: "3" },
    ],
    [
      "models:/streamflow_churn/007",
      { kind: "version", name: "streamflow_churn", version: "7" },
    ],
    [
      "models:/streamflow_churn/Production",
      { kind: "stage", name: "streamflow_churn", stage: "Production" },
    ],
    [
      "models:/streamflow_churn/staging",
      { kind: "stage", name: "streamflow_churn", stage: "Staging" },
    ],
    [
      "models:/streamflow_churn/latest",
      { kind: "latest", name: "streamflow_churn" },
    ],
    [
      "models:/streamflow_churn@champion",
      { kind: "alias", name: "streamflow_churn", alias: "champion" },
    ],
    [
      "models:///streamflow_churn@champion",
      { kind: "alias", name: "streamflow_churn", alias: "champion" },
    ],
    ["models:/m-0123abcd", { kind: "logged-model", modelId: "m-0123abcd" }],
    ["runs:/abc123/model", { kind: "run", runId: "abc123", path: "model" }],
    [
      "runs:///abc123/model/MLmodel",
      { kind: "run", runId: "abc123", path: "model/MLmodel" },
    ],
    ["runs:/abc123", { kind: "run", runId: "abc123", path: "" }],
    [
      "mlflow-artifacts:/1/abc/artifacts/model",
      { kind: "storage", uri: "mlflow-artifacts:/1/abc/artifacts/model" },
    ],
  ])("%s", (uri, expected) => {
    expect(parseModelUri(uri)).toEqual(expected);
  });

  it.each([
    ["models:/", "no model name"],
    [
      "models:/streamflow_churn",
      "a version, stage, 'latest' or @alias is missing",
    ],
    ["models:/streamflow_churn/Champion", "'Champion' is not a version number"],
    ["models:/a/b/c", "expected models:/NAME/SUFFIX"],
    ["models:/a/1@x", "expected models:/NAME@ALIAS"],
    ["runs:/", "no run id"],
    ["model.json", "no scheme"],
  ])("refuses %s", (uri, why) => {
    expect(() => parseModelUri(uri)).toThrow(RegistryError);
    expect(() => parseModelUri(uri)).toThrow(why);
  });
});
