import http from "node:http";
import https from "node:https";
import type { Readable } from "node:stream";
import axios, { type AxiosInstance, type AxiosResponse } from "axios";
import type { Logger } from "@streamflow/core";
import { RegistryError } from "../errors.ts";
import {
  NOT_PROCESSED_STATUSES,
  NOT_SENT_ERRORS,
  RETRY_NETWORK_ERRORS,
  RETRY_STATUSES,
  backoffDelayMs,
  parseRetryAfterMs,
  type RetryPolicy,
} from "./retry.ts";

export type QueryValue =
  string | number | boolean | readonly string[] | undefined;

export interface RequestSpec {
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  /** Absolute URL without credentials. */
  url: string;
  query?: Record<string, QueryValue>;
  /** Called once per attempt, so a stream body is fresh on every retry. */
  body?: () => unknown;
  headers?: Record<string, string>;
  /** Answer as a stream (downloads) instead of text. */
  stream?: boolean;
  /**
   * Whether resending after an ambiguous failure (timeout, reset, 500/502/504) is harmless. When
   * false, only failures that prove the request was not processed are retried.
   */
  idempotent: boolean;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  /** Text, or a stream when `stream` was asked for and the status is 2xx. */
  data: string | Readable;
  /** Retries spent before this response. */
  retries: number;
}

export interface TransportOptions {
  /** Tracking URI without credentials: what requests go to. */
  baseUrl: string;
  /** Tracking URI as configured, credentials masked (`http://***@host`): what messages show. */
  displayUrl: string;
  authorization: string | undefined;
  insecureTls: boolean;
  timeoutMs: number;
  retry: RetryPolicy;
  respectRetryAfter: boolean;
  logger: Logger;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

/** A network failure reduced to what is safe to show: axios errors carry the request config, headers included. */
function sanitizedCause(error: unknown): Error & { code?: string } {
  const code = axios.isAxiosError(error)
    ? error.code
    : (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return Object.assign(
    new Error(message),
    typeof code === "string" ? { code } : {},
  );
}

function headerRecord(response: AxiosResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(
    response.headers as Record<string, unknown>,
  )) {
    if (typeof value === "string") out[key.toLowerCase()] = value;
    else if (Array.isArray(value)) out[key.toLowerCase()] = value.join(", ");
    else if (typeof value === "number") out[key.toLowerCase()] = String(value);
  }
  return out;
}

async function readText(stream: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of stream)
    parts.push(Buffer.isBuffer(part) ? part : Buffer.from(part as string));
  return Buffer.concat(parts).toString("utf8");
}

export function withQuery(
  url: string,
  query: Record<string, QueryValue> | undefined,
): string {
  if (query === undefined) return url;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    // MLflow reads repeated fields as repeated keys (stages=Production&stages=Staging).
    if (Array.isArray(value))
      for (const item of value as readonly string[]) params.append(key, item);
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text === "" ? url : `${url}${url.includes("?") ? "&" : "?"}${text}`;
}

/** HTTP with MLflow's retry policy. Knows nothing of MLflow's endpoints; never lets credentials out. */
export class HttpTransport {
  readonly baseUrl: string;
  readonly displayUrl: string;
  readonly #options: TransportOptions;
  readonly #axios: AxiosInstance;
  readonly #agents: { http: http.Agent; https: https.Agent };

  constructor(options: TransportOptions) {
    this.#options = options;
    this.baseUrl = options.baseUrl;
    this.displayUrl = options.displayUrl;
    this.#agents = {
      http: new http.Agent({ keepAlive: true }),
      https: new https.Agent({
        keepAlive: true,
        rejectUnauthorized: !options.insecureTls,
      }),
    };
    this.#axios = axios.create({
      timeout: options.timeoutMs,
      httpAgent: this.#agents.http,
      httpsAgent: this.#agents.https,
      // A redirect would turn a POST into a GET and may cross hosts with our Authorization header:
      // report it instead, so the user fixes the tracking URI.
      maxRedirects: 0,
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
      validateStatus: () => true,
      transformResponse: [(data: unknown) => data],
      headers:
        options.authorization === undefined
          ? {}
          : { Authorization: options.authorization },
    });
  }

  /** The request line as shown in messages: method and path, never the query (it may carry names, not secrets, but is noise). */
  describe(spec: Pick<RequestSpec, "method" | "url">): string {
    return `${spec.method} ${new URL(spec.url).pathname}`;
  }

  async request(spec: RequestSpec): Promise<RawResponse> {
    const { retry, logger } = this.#options;
    for (let attempt = 0; ; attempt += 1) {
      let response: AxiosResponse | undefined;
      let failure: (Error & { code?: string }) | undefined;
      try {
        response = await this.#axios.request({
          method: spec.method,
          url: withQuery(spec.url, spec.query),
          data: spec.body?.(),
          headers: spec.headers,
          responseType: spec.stream === true ? "stream" : "text",
        });
      } catch (error) {
        failure = sanitizedCause(error);
      }

      if (response !== undefined && !RETRY_STATUSES.has(response.status)) {
        const headers = headerRecord(response);
        const ok = response.status >= 200 && response.status < 300;
        if (spec.stream === true && !ok) {
          return {
            status: response.status,
            headers,
            data: await readText(response.data as Readable),
            retries: attempt,
          };
        }
        return {
          status: response.status,
          headers,
          data: response.data as string | Readable,
          retries: attempt,
        };
      }

      const retryable =
        response !== undefined
          ? spec.idempotent || NOT_PROCESSED_STATUSES.has(response.status)
          : failure?.code !== undefined &&
            (spec.idempotent ? RETRY_NETWORK_ERRORS : NOT_SENT_ERRORS).has(
              failure.code,
            );
      if (!retryable || attempt >= retry.maxRetries) {
        if (response !== undefined) {
          const headers = headerRecord(response);
          const data =
            spec.stream === true
              ? await readText(response.data as Readable)
              : (response.data as string);
          return { status: response.status, headers, data, retries: attempt };
        }
        throw this.#networkError(spec, failure, attempt);
      }
      if (response !== undefined && spec.stream === true)
        (response.data as Readable).destroy();

      const retryAfter =
        response !== undefined && this.#options.respectRetryAfter
          ? parseRetryAfterMs(
              headerRecord(response)["retry-after"],
              this.#options.now(),
            )
          : undefined;
      const delay =
        retryAfter !== undefined
          ? Math.min(retryAfter, retry.backoffMaxMs)
          : backoffDelayMs(retry, attempt + 1, this.#options.random);
      const reason =
        response !== undefined
          ? `HTTP ${response.status}`
          : (failure?.code ?? failure?.message ?? "network error");
      logger.warn(
        `MLflow ${this.describe(spec)} failed (${reason}); retry ${attempt + 1}/${retry.maxRetries} in ${(delay / 1000).toFixed(1)} s`,
      );
      await this.#options.sleep(delay);
    }
  }

  #networkError(
    spec: RequestSpec,
    failure: (Error & { code?: string }) | undefined,
    retries: number,
  ): RegistryError {
    const code = failure?.code;
    const where = this.displayUrl;
    const after =
      retries > 0
        ? ` after ${retries} ${retries === 1 ? "retry" : "retries"}`
        : "";
    const timedOut =
      code === "ECONNABORTED" ||
      code === "ETIMEDOUT" ||
      code === "ERR_SOCKET_CONNECTION_TIMEOUT";
    const tls = code !== undefined && /CERT|SSL|TLS|SELF_SIGNED/.test(code);
    const what = timedOut
      ? `timed out after ${this.#options.timeoutMs / 1000} s (MLFLOW_HTTP_REQUEST_TIMEOUT)`
      : `failed: ${failure?.message ?? "network error"}`;
    return new RegistryError(
      "REGISTRY_UNAVAILABLE",
      `MLflow at ${where} is unreachable: ${this.describe(spec)} ${what}${after}`,
      {
        cause: failure,
        hint: tls
          ? "The server's TLS certificate was refused; fix it, or set MLFLOW_TRACKING_INSECURE_TLS=true for a test server."
          : `Check that the MLflow server at ${where} is running (curl ${where}/health) and MLFLOW_TRACKING_URI is right.`,
        details: { trackingUri: where, networkCode: code, retries },
      },
    );
  }

  async close(): Promise<void> {
    this.#agents.http.destroy();
    this.#agents.https.destroy();
    return Promise.resolve();
  }
}
