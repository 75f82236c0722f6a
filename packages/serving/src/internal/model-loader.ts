import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreError, parseModel, type StreamflowModel } from "@streamflow/core";
import type { ColumnType, OnlineStoreDescription } from "@streamflow/features";
import { parseModelUri, RegistryError, type ModelStage, type ModelVersion, type Registry } from "@streamflow/registry-client";
import { ServingError } from "../errors.ts";

/** Run tag `streamflow train` writes: the sha256 of `model.json`, checked before a model is served. */
export const MODEL_SHA256_TAG = "streamflow.model_sha256";

/** Which registered version a server follows: a fixed version, the holder of a stage or alias, or the newest. */
export type ModelTarget =
  | { kind: "version"; name: string; version: string }
  | { kind: "stage"; name: string; stage: ModelStage }
  | { kind: "alias"; name: string; alias: string }
  | { kind: "latest"; name: string };

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

/**
 * Parses `--model-uri`. Only registered models can be followed: a `runs:/` or storage URI names
 * files, not a version a promotion can move.
 * @throws RegistryError REGISTRY_URI_INVALID
 */
export function parseModelTarget(uri: string): ModelTarget {
  const parsed = parseModelUri(uri);
  switch (parsed.kind) {
    case "version":
    case "stage":
    case "alias":
    case "latest":
      return parsed;
    case "run":
    case "storage":
    case "logged-model":
      throw new RegistryError("REGISTRY_URI_INVALID", `serve follows a registered model, got '${uri}'`, {
        hint: "Use models:/NAME/STAGE (e.g. models:/streamflow_churn/Production), models:/NAME@ALIAS, models:/NAME/VERSION or models:/NAME/latest.",
        details: { uri },
      });
  }
}

export function describeTarget(target: ModelTarget): string {
  switch (target.kind) {
    case "version":
      return `models:/${target.name}/${target.version}`;
    case "stage":
      return `models:/${target.name}/${target.stage}`;
    case "alias":
      return `models:/${target.name}@${target.alias}`;
    case "latest":
      return `models:/${target.name}/latest`;
  }
}

/** The version the target points at right now. @throws RegistryError (REGISTRY_NOT_FOUND when nothing holds the stage). */
export async function resolveTarget(registry: Registry, target: ModelTarget): Promise<ModelVersion> {
  switch (target.kind) {
    case "version":
      return registry.getModelVersion(target.name, target.version);
    case "alias":
      return registry.getModelVersionByAlias(target.name, target.alias);
    case "stage":
    case "latest": {
      const versions = await registry.getLatestVersions(target.name, target.kind === "stage" ? [target.stage] : undefined);
      const newest = versions.reduce<ModelVersion | undefined>((best, v) => (best === undefined || Number(v.version) > Number(best.version) ? v : best), undefined);
      if (newest === undefined) {
        throw new RegistryError("REGISTRY_NOT_FOUND", `no version of '${target.name}' is in ${target.kind === "stage" ? `stage ${target.stage}` : "the registry"}`, {
          hint: `Train and promote one: streamflow train --as-of YYYY-MM-DD, then streamflow promote --latest --stage ${target.kind === "stage" ? target.stage : "Production"}.`,
          details: { name: target.name },
        });
      }
      return newest;
    }
  }
}

const EXPECTED_TYPES: Record<"categorical" | "numeric" | "boolean", readonly ColumnType[]> = {
  categorical: ["text"],
  numeric: ["integer", "double"],
  boolean: ["boolean"],
};

/**
 * The feature views a model reads, after checking that the online store has every feature it was
 * trained on, with a type the model's encoding can take.
 * @throws ServingError MODEL_SCHEMA_MISMATCH listing every problem.
 */
export function checkModelAgainstStore(model: StreamflowModel, store: OnlineStoreDescription): string[] {
  const schema = model.preprocessor.schema;
  const byName = new Map(store.columns.map((c) => [c.name, c]));
  const problems: string[] = [];
  const views = new Set<string>();
  const kinds = [
    ["categorical", schema.categorical_cols],
    ["numeric", schema.numeric_cols],
    ["boolean", schema.boolean_cols],
  ] as const;
  for (const [kind, names] of kinds) {
    for (const name of names) {
      const column = byName.get(name);
      if (column === undefined) problems.push(`'${name}' is not in the online store`);
      else if (!EXPECTED_TYPES[kind].includes(column.type)) problems.push(`'${name}' is ${kind} in the model but ${column.type} online`);
      else views.add(column.featureView);
    }
  }
  if (problems.length > 0) {
    throw new ServingError("MODEL_SCHEMA_MISMATCH", `the model's features do not match the online store: ${problems.join("; ")}`, {
      hint: "Serve a model trained on this feature store, or migrate and materialize the store this model was trained on.",
      details: { problems },
    });
  }
  return [...views];
}

export function modelFeatures(model: StreamflowModel): string[] {
  const s = model.preprocessor.schema;
  return [...s.categorical_cols, ...s.numeric_cols, ...s.boolean_cols];
}

/**
 * Downloads a registered version's `model/` folder, checks `model.json` against the sha256 its run
 * recorded, and parses it. Nothing half-checked is ever returned.
 * @throws ServingError MODEL_INTEGRITY, CoreError MODEL_FORMAT_INVALID, RegistryError.
 */
export async function downloadVerifiedModel(registry: Registry, version: ModelVersion): Promise<{ model: StreamflowModel; sha256: string }> {
  const uri = `models:/${version.name}/${version.version}`;
  if (version.runId === undefined || version.runId === "") {
    throw new ServingError("MODEL_INTEGRITY", `${uri} has no run, so its model file cannot be verified`, {
      hint: "Register models with streamflow train, which records the file's sha256 on the run.",
    });
  }
  const dir = await mkdtemp(join(tmpdir(), "streamflow-serve-"));
  try {
    const { localPath } = await registry.downloadModel(uri, dir);
    let text: string;
    try {
      text = await readFile(join(localPath, "model.json"), "utf8");
    } catch (cause) {
      throw new CoreError("MODEL_FORMAT_INVALID", `${uri} has no model.json in its artifacts`, {
        cause,
        hint: "It was not registered by streamflow train; serve a version that was.",
      });
    }
    const sha256 = createHash("sha256").update(text).digest("hex");
    const run = await registry.getRun(version.runId);
    const expected = run.data.tags[MODEL_SHA256_TAG];
    if (expected === undefined) {
      throw new ServingError("MODEL_INTEGRITY", `run ${version.runId} of ${uri} has no ${MODEL_SHA256_TAG} tag to verify model.json against`, {
        hint: "Register models with streamflow train, which records the file's sha256 on the run.",
      });
    }
    if (expected !== sha256) {
      throw new ServingError("MODEL_INTEGRITY", `model.json of ${uri} hashes to ${sha256}, but its run recorded ${expected}`, {
        hint: "The artifact was changed or corrupted after training; retrain, or promote another version.",
        details: { expected, actual: sha256 },
      });
    }
    return { model: parseModel(text), sha256 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
