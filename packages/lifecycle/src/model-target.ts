import {
  parseModelUri,
  RegistryError,
  type ModelStage,
  type ModelVersion,
  type Registry,
} from "@streamflow/registry-client";

/** A registered version named by URI: a fixed version, the holder of a stage or alias, or the newest. */
export type ModelTarget =
  | { kind: "version"; name: string; version: string }
  | { kind: "stage"; name: string; stage: ModelStage }
  | { kind: "alias"; name: string; alias: string }
  | { kind: "latest"; name: string };

/**
 * Parses a `--model-uri`. Only registered models qualify: a `runs:/` or storage URI names files,
 * not a version whose run recorded the checksum a load verifies against.
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
      throw new RegistryError(
        "REGISTRY_URI_INVALID",
        `a registered model URI is needed, got '${uri}'`,
        {
          hint: "Use models:/NAME/STAGE (e.g. models:/streamflow_churn/Production), models:/NAME@ALIAS, models:/NAME/VERSION or models:/NAME/latest.",
          details: { uri },
        },
      );
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
export async function resolveTarget(
  registry: Registry,
  target: ModelTarget,
): Promise<ModelVersion> {
  switch (target.kind) {
    case "version":
      return registry.getModelVersion(target.name, target.version);
    case "alias":
      return registry.getModelVersionByAlias(target.name, target.alias);
    case "stage":
    case "latest": {
      const versions = await registry.getLatestVersions(
        target.name,
        target.kind === "stage" ? [target.stage] : undefined,
      );
      const newest = versions.reduce<ModelVersion | undefined>(
        (best, v) =>
          best === undefined || Number(v.version) > Number(best.version)
            ? v
            : best,
        undefined,
      );
      if (newest === undefined) {
        throw new RegistryError(
          "REGISTRY_NOT_FOUND",
          `no version of '${target.name}' is in ${target.kind === "stage" ? `stage ${target.stage}` : "the registry"}`,
          {
            hint: `Train and promote one: streamflow train --as-of YYYY-MM-DD, then streamflow promote --latest --stage ${target.kind === "stage" ? target.stage : "Production"}.`,
            details: { name: target.name },
          },
        );
      }
      return newest;
    }
  }
}
