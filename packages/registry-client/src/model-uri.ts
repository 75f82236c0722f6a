import { RegistryError } from "./errors.ts";
import { MODEL_STAGES, type ModelStage } from "./types.ts";

/** A parsed `models:/` or `runs:/` URI; anything else is a storage URI (`mlflow-artifacts:/…`, `file:…`). */
export type ModelUri =
  | { kind: "version"; name: string; version: string }
  | { kind: "stage"; name: string; stage: ModelStage }
  | { kind: "latest"; name: string }
  | { kind: "alias"; name: string; alias: string }
  | { kind: "logged-model"; modelId: string }
  | { kind: "run"; runId: string; path: string }
  | { kind: "storage"; uri: string };

function invalid(uri: string, why: string): RegistryError {
  return new RegistryError(
    "REGISTRY_URI_INVALID",
    `Cannot parse model URI '${uri}': ${why}`,
    {
      hint: "Use models:/NAME/VERSION, models:/NAME/STAGE, models:/NAME/latest, models:/NAME@ALIAS or runs:/RUN_ID/path.",
      details: { uri },
    },
  );
}

/** Canonical stage name for a case-insensitive input, or undefined. */
export function canonicalStage(stage: string): ModelStage | undefined {
  return MODEL_STAGES.find((s) => s.toLowerCase() === stage.toLowerCase());
}

/**
 * Parses a model URI by MLflow's rules (`mlflow/store/artifact/utils/models.py`): `@` makes an alias,
 * a decimal suffix a version, `latest` the newest version, any other suffix a stage.
 * @throws REGISTRY_URI_INVALID
 */
export function parseModelUri(uri: string): ModelUri {
  if (uri.startsWith("runs:")) {
    // runs:/ID/path and runs:///ID/path are both seen in the wild; the path may be empty (whole run).
    const rest = uri.slice("runs:".length).replace(/^\/+/, "");
    const slash = rest.indexOf("/");
    const runId = slash < 0 ? rest : rest.slice(0, slash);
    const path =
      slash < 0 ? "" : rest.slice(slash + 1).replace(/^\/+|\/+$/g, "");
    if (runId === "") throw invalid(uri, "no run id");
    return { kind: "run", runId, path };
  }
  if (!uri.startsWith("models:")) {
    if (!/^[a-z][a-z0-9+.-]*:/i.test(uri)) throw invalid(uri, "no scheme");
    return { kind: "storage", uri };
  }
  const body = uri
    .slice("models:".length)
    .replace(/^\/+/, "")
    .replace(/\/+$/, "");
  if (body === "") throw invalid(uri, "no model name");
  const at = body.lastIndexOf("@");
  if (at >= 0) {
    const name = body.slice(0, at);
    const alias = body.slice(at + 1);
    if (name === "" || alias === "" || name.includes("/"))
      throw invalid(uri, "expected models:/NAME@ALIAS");
    return { kind: "alias", name, alias };
  }
  const parts = body.split("/");
  if (parts.length === 1) {
    // models:/m-<hex> is a 3.x logged model; a bare name has no version to pick.
    if (/^m-[0-9a-f]+$/.test(body))
      return { kind: "logged-model", modelId: body };
    throw invalid(uri, "a version, stage, 'latest' or @alias is missing");
  }
  const [name, suffix] = parts;
  if (
    parts.length !== 2 ||
    name === undefined ||
    suffix === undefined ||
    name === "" ||
    suffix === ""
  ) {
    throw invalid(uri, "expected models:/NAME/SUFFIX");
  }
  if (/^\d+$/.test(suffix))
    return { kind: "version", name, version: String(Number(suffix)) };
  if (suffix.toLowerCase() === "latest") return { kind: "latest", name };
  const stage = canonicalStage(suffix);
  if (stage === undefined)
    throw invalid(
      uri,
      `'${suffix}' is not a version number, 'latest' or a stage (${MODEL_STAGES.join(", ")})`,
    );
  return { kind: "stage", name, stage };
}
