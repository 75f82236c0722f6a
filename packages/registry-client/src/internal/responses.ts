import { RegistryError } from "../errors.ts";
import { redactUrl } from "./redact.ts";
import { RETRY_STATUSES } from "./retry.ts";
import type { RawResponse } from "./http.ts";

interface MlflowErrorBody {
  error_code?: unknown;
  message?: unknown;
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function contentType(response: RawResponse): string {
  return (response.headers["content-type"] ?? "no content type")
    .split(";")[0]!
    .trim();
}

export interface ResponseContext {
  /** Tracking URI for messages, credentials masked. */
  displayUrl: string;
  /** "POST /api/2.0/mlflow/runs/create" */
  request: string;
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 120 ? `${flat.slice(0, 120)}…` : flat;
}

/** The JSON body of a 2xx answer; an empty body is `{}` as in the Python client. */
export function parseJsonBody(
  context: ResponseContext,
  response: RawResponse,
): unknown {
  const text = typeof response.data === "string" ? response.data : "";
  if (text.trim() === "") return {};
  const parsed = tryParse(text);
  if (parsed === undefined || typeof parsed !== "object" || parsed === null) {
    throw notMlflow(context, response, text);
  }
  return parsed;
}

function notMlflow(
  context: ResponseContext,
  response: RawResponse,
  text: string,
): RegistryError {
  const where = context.displayUrl;
  return new RegistryError(
    "REGISTRY_PROTOCOL",
    `Is this an MLflow server? The URL ${where} answered ${context.request} with HTTP ${response.status} ${contentType(response)}` +
      (text.trim() === "" ? "" : ` ("${snippet(text)}")`) +
      " instead of MLflow's JSON.",
    {
      httpStatus: response.status,
      hint: "MLFLOW_TRACKING_URI must be the tracking server's root URL (e.g. http://127.0.0.1:5000), not the UI page or a proxy login.",
      details: { trackingUri: where, contentType: contentType(response) },
    },
  );
}

/** Turns a non-2xx answer into the RegistryError callers branch on. */
export function responseError(
  context: ResponseContext,
  response: RawResponse,
): RegistryError {
  const where = context.displayUrl;
  const text = typeof response.data === "string" ? response.data : "";
  const parsed = tryParse(text);
  const body =
    typeof parsed === "object" && parsed !== null
      ? (parsed as MlflowErrorBody)
      : undefined;
  const mlflowErrorCode =
    typeof body?.error_code === "string" ? body.error_code : undefined;
  const serverMessage =
    typeof body?.message === "string" ? body.message : undefined;
  const status = response.status;
  const base = { httpStatus: status, mlflowErrorCode };
  const said =
    serverMessage !== undefined
      ? `: ${serverMessage}`
      : mlflowErrorCode !== undefined
        ? `: ${mlflowErrorCode}`
        : "";

  if (status === 401 || status === 403) {
    return new RegistryError(
      "REGISTRY_AUTH",
      `MLflow at ${where} ${status === 401 ? "refused the credentials" : "denied permission"} (HTTP ${status}) for ${context.request}` +
        (serverMessage !== undefined ? `: ${serverMessage}` : ""),
      {
        ...base,
        hint:
          status === 401
            ? "Set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, to credentials the server accepts."
            : "The credentials are valid but lack permission for this operation; ask the server's admin for it.",
      },
    );
  }
  if (status >= 300 && status < 400) {
    const location = response.headers["location"];
    return new RegistryError(
      "REGISTRY_PROTOCOL",
      `MLflow at ${where} answered ${context.request} with a redirect (HTTP ${status})` +
        (location !== undefined ? ` to ${redactUrl(location)}` : ""),
      {
        ...base,
        hint: "Set MLFLOW_TRACKING_URI to the address the server redirects to.",
      },
    );
  }
  if (mlflowErrorCode === undefined) {
    if (RETRY_STATUSES.has(status) || status >= 500) {
      return unavailable(context, response, {
        base,
        said: text === "" ? "" : ` ("${snippet(text)}")`,
      });
    }
    return notMlflow(context, response, text);
  }
  switch (mlflowErrorCode) {
    case "RESOURCE_DOES_NOT_EXIST":
    case "NOT_FOUND":
      return new RegistryError(
        "REGISTRY_NOT_FOUND",
        `Not found in MLflow at ${where}${said}`,
        base,
      );
    case "ENDPOINT_NOT_FOUND":
      return new RegistryError(
        "REGISTRY_PROTOCOL",
        `MLflow at ${where} does not serve ${context.request}${said}`,
        {
          ...base,
          hint: "The server may be older than this client needs (MLflow 2.x or 3.x).",
        },
      );
    case "RESOURCE_ALREADY_EXISTS":
    case "ALREADY_EXISTS":
    case "RESOURCE_CONFLICT":
      return new RegistryError(
        "REGISTRY_CONFLICT",
        `Already exists in MLflow at ${where}${said}`,
        base,
      );
    default:
      if (RETRY_STATUSES.has(status) || status >= 500)
        return unavailable(context, response, { base, said });
      return new RegistryError(
        "REGISTRY_INVALID_REQUEST",
        `MLflow at ${where} rejected ${context.request}${said}`,
        base,
      );
  }
}

function unavailable(
  context: ResponseContext,
  response: RawResponse,
  extra: {
    base: { httpStatus: number; mlflowErrorCode: string | undefined };
    said: string;
  },
): RegistryError {
  const { base, said } = extra;
  const where = context.displayUrl;
  const after =
    response.retries > 0
      ? ` after ${response.retries} ${response.retries === 1 ? "retry" : "retries"}`
      : "";
  return new RegistryError(
    "REGISTRY_UNAVAILABLE",
    `MLflow at ${where} answered ${context.request} with HTTP ${response.status}${after}${said}`,
    {
      ...base,
      hint: `The server is failing or overloaded; check its logs and retry later (MLFLOW_HTTP_REQUEST_MAX_RETRIES tunes the retries).`,
      details: { trackingUri: where, retries: response.retries },
    },
  );
}
