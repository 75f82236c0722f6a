import { RegistryError } from "../errors.ts";
import { canonicalStage } from "../model-uri.ts";
import {
  MODEL_STAGES,
  type Metric,
  type ModelStage,
  type SearchRunsOptions,
} from "../types.ts";

function invalid(message: string, hint?: string): RegistryError {
  return new RegistryError(
    "REGISTRY_INVALID_REQUEST",
    message,
    hint === undefined ? {} : { hint },
  );
}

/** MLflow's alias rule (`_validate_model_alias_name`), checked before any request so both registries agree. */
export function validateAlias(alias: string): void {
  if (alias === "" || alias.length > 255 || !/^[\w-]+$/.test(alias)) {
    throw invalid(
      `Invalid alias '${alias}': use 1–255 letters, digits, '_' or '-'.`,
    );
  }
  if (alias.toLowerCase() === "latest" || /^v\d+$/i.test(alias)) {
    throw invalid(
      `Invalid alias '${alias}': 'latest' and 'v<number>' are reserved by MLflow.`,
    );
  }
}

/** The canonical stage, or REGISTRY_INVALID_REQUEST listing the valid ones. */
export function requireStage(stage: string): ModelStage {
  const canonical = canonicalStage(stage);
  if (canonical === undefined)
    throw invalid(
      `Unknown stage '${stage}'; stages are ${MODEL_STAGES.join(", ")}.`,
    );
  return canonical;
}

/** MLflow's key rule for params, metrics and tags (`_validate_param_name` and friends). */
export function validateKey(
  kind: "param" | "metric" | "tag",
  key: string,
): void {
  if (
    key === "" ||
    key.length > 250 ||
    !/^[\w\-. /]+$/.test(key) ||
    key.includes("..") ||
    key.startsWith("/")
  ) {
    throw invalid(
      `Invalid ${kind} name '${key}': use up to 250 letters, digits, '_', '-', '.', ' ' or '/', without '..' or a leading '/'.`,
    );
  }
}

/** MLflow's "latest" metric point: highest step, then newest timestamp, then highest value. */
export function isLaterMetric(
  candidate: Metric,
  current: Metric | undefined,
): boolean {
  if (current === undefined) return true;
  if (candidate.step !== current.step) return candidate.step > current.step;
  const ct = candidate.timestamp.getTime();
  const ot = current.timestamp.getTime();
  if (ct !== ot) return ct > ot;
  return candidate.value > current.value;
}

/** A search filter value as MLflow's filter grammar quotes it. */
export function quoteFilterValue(value: string): string {
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  throw invalid(
    `Cannot search for '${value}': a value holding both ' and " cannot be quoted in an MLflow filter.`,
  );
}

/** The MLflow filter string for the structured filter both registries accept. */
export function runFilterString(filter: SearchRunsOptions["filter"]): string {
  if (filter === undefined) return "";
  const clauses: string[] = [];
  if (filter.runName !== undefined)
    clauses.push(`attributes.run_name = ${quoteFilterValue(filter.runName)}`);
  if (filter.status !== undefined)
    clauses.push(`attributes.status = ${quoteFilterValue(filter.status)}`);
  for (const [key, value] of Object.entries(filter.params ?? {}))
    clauses.push(`params.\`${key}\` = ${quoteFilterValue(value)}`);
  for (const [key, value] of Object.entries(filter.tags ?? {}))
    clauses.push(`tags.\`${key}\` = ${quoteFilterValue(value)}`);
  return clauses.join(" and ");
}

/** Joins artifact path segments with '/', dropping empty ones and stray slashes. */
export function joinArtifactPath(
  ...parts: readonly (string | undefined)[]
): string {
  return parts
    .flatMap((p) => (p ?? "").split("/"))
    .filter((s) => s !== "" && s !== ".")
    .join("/");
}

/** Refuses `..` and absolute artifact paths, as the server does (`validate_path_is_safe`). */
export function validateArtifactPath(path: string): void {
  if (
    path.startsWith("/") ||
    path.split("/").includes("..") ||
    path.includes("\\") ||
    path.includes("\0")
  ) {
    throw invalid(
      `Invalid artifact path '${path}': it must be relative and must not contain '..'.`,
    );
  }
}

/** MLflow archives existing versions only when moving into an active stage. */
export function validateArchiveStage(
  stage: ModelStage,
  archiveExistingVersions: boolean,
): void {
  if (
    archiveExistingVersions &&
    stage !== "Staging" &&
    stage !== "Production"
  ) {
    throw invalid(
      `archive_existing_versions applies only to Staging and Production, not '${stage}'.`,
    );
  }
}

/** Locale-independent order, so listings are the same on every machine and in every registry. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
