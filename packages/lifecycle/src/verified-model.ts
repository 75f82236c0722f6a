import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreError, parseModel, type StreamflowModel } from "@streamflow/core";
import type { ColumnType } from "@streamflow/features";
import type { ModelVersion, Registry } from "@streamflow/registry-client";
import { LifecycleError } from "./errors.ts";
import { MODEL_FILE, MODEL_SHA256_TAG, sha256Hex } from "./model-artifact.ts";

export interface VerifiedModel {
  model: StreamflowModel;
  /** sha256 of `model.json`, equal to the one its run recorded. */
  sha256: string;
}

function uriOf(version: ModelVersion): string {
  return `models:/${version.name}/${version.version}`;
}

/**
 * Downloads a registered version's `model/` folder, checks `model.json` against the sha256 its run
 * recorded, and parses it. The one loader serve, promote and score use: nothing half-checked is
 * ever returned.
 * @throws LifecycleError MODEL_INTEGRITY, CoreError MODEL_FORMAT_INVALID, RegistryError.
 */
export async function loadVerifiedModel({
  registry,
  version,
}: {
  registry: Registry;
  version: ModelVersion;
}): Promise<VerifiedModel> {
  const uri = uriOf(version);
  if (version.runId === undefined || version.runId === "") {
    throw new LifecycleError(
      "MODEL_INTEGRITY",
      `${uri} has no run, so its model file cannot be verified`,
      {
        hint: "Register models with streamflow train, which records the file's sha256 on the run.",
      },
    );
  }
  const dir = await mkdtemp(join(tmpdir(), "streamflow-model-"));
  try {
    const { localPath } = await registry.downloadModel(uri, dir);
    let text: string;
    try {
      text = await readFile(join(localPath, MODEL_FILE), "utf8");
    } catch (cause) {
      throw new CoreError(
        "MODEL_FORMAT_INVALID",
        `${uri} has no ${MODEL_FILE} in its artifacts`,
        {
          cause,
          hint: "It was not registered by streamflow train; use a version that was.",
        },
      );
    }
    const sha256 = sha256Hex(text);
    const run = await registry.getRun(version.runId);
    const expected = run.data.tags[MODEL_SHA256_TAG];
    if (expected === undefined) {
      throw new LifecycleError(
        "MODEL_INTEGRITY",
        `run ${version.runId} of ${uri} has no ${MODEL_SHA256_TAG} tag to verify ${MODEL_FILE} against`,
        {
          hint: "Register models with streamflow train, which records the file's sha256 on the run.",
        },
      );
    }
    if (expected !== sha256) {
      throw new LifecycleError(
        "MODEL_INTEGRITY",
        `${MODEL_FILE} of ${uri} hashes to ${sha256}, but its run recorded ${expected}`,
        {
          hint: "The artifact was changed or corrupted after training; retrain, or use another version.",
          details: { expected, actual: sha256 },
        },
      );
    }
    return { model: parseModel(text), sha256 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A feature column as a store describes it: the model must find each of its inputs there. */
export interface StoreColumn {
  name: string;
  type: ColumnType;
  featureView: string;
}

const EXPECTED_TYPES: Record<
  "categorical" | "numeric" | "boolean",
  readonly ColumnType[]
> = {
  // An integer code a repository declares categorical is one-hot encoded like text.
  categorical: ["text", "integer"],
  numeric: ["integer", "double"],
  boolean: ["boolean"],
};

/**
 * The feature views a model reads, after checking that the store has every feature it was
 * trained on, with a type the model's encoding can take.
 * @throws LifecycleError MODEL_SCHEMA_MISMATCH listing every problem.
 */
export function checkModelAgainstStore(
  model: StreamflowModel,
  store: { columns: readonly StoreColumn[] },
): string[] {
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
      if (column === undefined) problems.push(`'${name}' is not in the store`);
      else if (!EXPECTED_TYPES[kind].includes(column.type))
        problems.push(
          `'${name}' is ${kind} in the model but ${column.type} in the store`,
        );
      else views.add(column.featureView);
    }
  }
  if (problems.length > 0) {
    throw new LifecycleError(
      "MODEL_SCHEMA_MISMATCH",
      `the model's features do not match the feature store: ${problems.join("; ")}`,
      {
        hint: "Use a model trained on this feature store, or migrate and materialize the store this model was trained on.",
        details: { problems },
      },
    );
  }
  return [...views];
}

/** The model's input features, in schema order. */
export function modelFeatures(model: StreamflowModel): string[] {
  const s = model.preprocessor.schema;
  return [...s.categorical_cols, ...s.numeric_cols, ...s.boolean_cols];
}
