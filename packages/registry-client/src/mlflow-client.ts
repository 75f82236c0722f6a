import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { SILENT_LOGGER, type Logger } from "@streamflow/core";
import { RegistryError } from "./errors.ts";
import { parseModelUri } from "./model-uri.ts";
import {
  proxyFileUrl,
  resolveProxyLocation,
  type ProxyLocation,
} from "./internal/artifact-uri.ts";
import {
  chunkLogBatch,
  fromWireValue,
  toWireValue,
  type BatchChunk,
} from "./internal/batch.ts";
import {
  contentTypeFor,
  listFilesRecursive,
  mapLimit,
  tempSibling,
} from "./internal/files.ts";
import {
  HttpTransport,
  type QueryValue,
  type RequestSpec,
} from "./internal/http.ts";
import { redactUrl, splitCredentials } from "./internal/redact.ts";
import { parseJsonBody, responseError } from "./internal/responses.ts";
import {
  byCodePoint,
  isLaterMetric,
  joinArtifactPath,
  requireStage,
  runFilterString,
  validateAlias,
  validateArchiveStage,
  validateArtifactPath,
} from "./internal/validation.ts";
import type {
  ArtifactFile,
  CreateExperimentOptions,
  CreateModelVersionOptions,
  CreateRegisteredModelOptions,
  CreateRunOptions,
  DownloadArtifactsOptions,
  DownloadModelResult,
  Experiment,
  ListArtifactsOptions,
  LogArtifactContentOptions,
  LogArtifactOptions,
  LogArtifactsOptions,
  LogBatchOptions,
  LoggedModelRecord,
  Metric,
  ModelStage,
  ModelVersion,
  RegisteredModel,
  Registry,
  RegistryInfo,
  ResolvedArtifactLocation,
  Run,
  RunInfo,
  RunStatus,
  SearchModelVersionsOptions,
  SearchRegisteredModelsOptions,
  SearchRunsOptions,
  SetAliasOptions,
  TransitionStageOptions,
  UpdateRunOptions,
} from "./types.ts";

/** Options of {@link createMlflowClient}; the names in brackets are the Python client's environment variables. */
export interface MlflowClientOptions {
  /** Root URL of the tracking server (MLFLOW_TRACKING_URI). Credentials in it (`user:pass@`) are used for basic auth and never shown. */
  trackingUri: string;
  /** Bearer token (MLFLOW_TRACKING_TOKEN). Ignored when a username and password are given, as in MLflow. */
  token?: string;
  /** Basic-auth user (MLFLOW_TRACKING_USERNAME). */
  username?: string;
  /** Basic-auth password (MLFLOW_TRACKING_PASSWORD). */
  password?: string;
  /** Skip TLS certificate checks (MLFLOW_TRACKING_INSECURE_TLS). @default false */
  insecureTls?: boolean;
  /** Per-request timeout (MLFLOW_HTTP_REQUEST_TIMEOUT, which is in seconds). @default 120000 */
  timeoutMs?: number;
  /** Retries after the first attempt (MLFLOW_HTTP_REQUEST_MAX_RETRIES). @default 7 */
  maxRetries?: number;
  /** Retry n (n ≥ 2) waits factor · 2^(n−1) (MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR, which is in seconds). @default 2000 */
  backoffFactorMs?: number;
  /** Up to this much uniform random extra wait (MLFLOW_HTTP_REQUEST_BACKOFF_JITTER, in seconds). @default 1000 */
  backoffJitterMs?: number;
  /** Longest wait between two attempts, Retry-After included. @default 120000 */
  backoffMaxMs?: number;
  /** Wait as long as a 429/503's Retry-After says (MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER). @default true */
  respectRetryAfter?: boolean;
  /** Receives one warning per retry. @default SILENT_LOGGER */
  logger?: Logger;
  /** Clock for run times and metric timestamps. @default () => new Date() */
  now?: () => Date;
  /** @default setTimeout-based */
  sleep?: (ms: number) => Promise<void>;
  /** Source of the backoff jitter, in [0, 1). @default Math.random */
  random?: () => number;
}

// ---- wire shapes (snake_case, every field optional as proto2 omits unset ones) ----
interface WireTag {
  key?: string;
  value?: string;
}
interface WireExperiment {
  experiment_id?: string;
  name?: string;
  artifact_location?: string;
  lifecycle_stage?: string;
  creation_time?: number | string;
  last_update_time?: number | string;
  tags?: WireTag[];
}
interface WireRunInfo {
  run_id?: string;
  run_uuid?: string;
  run_name?: string;
  experiment_id?: string;
  user_id?: string;
  status?: string;
  start_time?: number | string;
  end_time?: number | string;
  artifact_uri?: string;
  lifecycle_stage?: string;
}
interface WireMetricOut {
  key?: string;
  value?: unknown;
  timestamp?: number | string;
  step?: number | string;
}
interface WireRun {
  info?: WireRunInfo;
  data?: { metrics?: WireMetricOut[]; params?: WireTag[]; tags?: WireTag[] };
}
interface WireModelVersion {
  name?: string;
  version?: string;
  current_stage?: string;
  source?: string;
  run_id?: string;
  status?: string;
  description?: string;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  tags?: WireTag[];
  aliases?: string[];
}
interface WireRegisteredModel {
  name?: string;
  description?: string;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  tags?: WireTag[];
  aliases?: { alias?: string; version?: string }[];
}

function toDate(value: number | string | undefined): Date | undefined {
  if (value === undefined || value === "") return undefined;
  const ms = Number(value);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

function tagRecord(tags: WireTag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? [])
    if (t.key !== undefined) out[t.key] = t.value ?? "";
  return out;
}

function toWireTags(
  tags: Record<string, string> | undefined,
): { key: string; value: string }[] | undefined {
  return tags === undefined
    ? undefined
    : Object.entries(tags).map(([key, value]) => ({ key, value }));
}

function toExperiment(e: WireExperiment | undefined): Experiment {
  return {
    experimentId: e?.experiment_id ?? "",
    name: e?.name ?? "",
    artifactLocation: e?.artifact_location ?? "",
    lifecycleStage: e?.lifecycle_stage === "deleted" ? "deleted" : "active",
    creationTime: toDate(e?.creation_time),
    lastUpdateTime: toDate(e?.last_update_time),
    tags: tagRecord(e?.tags),
  };
}

function toRunInfo(i: WireRunInfo | undefined): RunInfo {
  return {
    runId: i?.run_id ?? i?.run_uuid ?? "",
    runName: i?.run_name ?? "",
    experimentId: i?.experiment_id ?? "",
    userId: i?.user_id,
    status: (i?.status ?? "RUNNING") as RunStatus,
    startTime: toDate(i?.start_time),
    endTime: toDate(i?.end_time),
    artifactUri: i?.artifact_uri ?? "",
    lifecycleStage: i?.lifecycle_stage === "deleted" ? "deleted" : "active",
  };
}

function toMetric(m: WireMetricOut): Metric {
  return {
    key: m.key ?? "",
    value: fromWireValue(m.value),
    timestamp: toDate(m.timestamp) ?? new Date(0),
    step: Number(m.step ?? 0),
  };
}

function toRun(r: WireRun | undefined): Run {
  const metrics: Record<string, Metric> = {};
  for (const wire of r?.data?.metrics ?? []) {
    const m = toMetric(wire);
    if (isLaterMetric(m, metrics[m.key])) metrics[m.key] = m;
  }
  return {
    info: toRunInfo(r?.info),
    data: {
      metrics,
      params: tagRecord(r?.data?.params),
      tags: tagRecord(r?.data?.tags),
    },
  };
}

function toModelVersion(v: WireModelVersion | undefined): ModelVersion {
  return {
    name: v?.name ?? "",
    version: v?.version ?? "",
    currentStage: requireStage(v?.current_stage ?? "None"),
    source: v?.source ?? "",
    runId: v?.run_id === "" ? undefined : v?.run_id,
    status: v?.status ?? "READY",
    description: v?.description === "" ? undefined : v?.description,
    creationTime: toDate(v?.creation_timestamp),
    lastUpdatedTime: toDate(v?.last_updated_timestamp),
    tags: tagRecord(v?.tags),
    aliases: v?.aliases ?? [],
  };
}

function toRegisteredModel(
  m: WireRegisteredModel | undefined,
): RegisteredModel {
  const aliases: Record<string, string> = {};
  for (const a of m?.aliases ?? [])
    if (a.alias !== undefined) aliases[a.alias] = a.version ?? "";
  return {
    name: m?.name ?? "",
    description: m?.description === "" ? undefined : m?.description,
    creationTime: toDate(m?.creation_timestamp),
    lastUpdatedTime: toDate(m?.last_updated_timestamp),
    tags: tagRecord(m?.tags),
    aliases,
  };
}

function byVersionDesc(a: ModelVersion, b: ModelVersion): number {
  return Number(b.version) - Number(a.version);
}

function quoteName(name: string): string {
  // Registry filters only take single-quoted strings; a quote in a name is doubled, as in SQL.
  return `'${name.replace(/'/g, "''")}'`;
}

function listOf(items: readonly string[], none: string): string {
  if (items.length === 0) return none;
  return items.length > 20
    ? `${items.slice(0, 20).join(", ")} … (${items.length} in all)`
    : items.join(", ");
}

interface CallOptions {
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** @default true: GETs and most writes are safe to resend. */
  idempotent?: boolean;
}

/** MLflow REST client (2.x and 3.x servers) implementing {@link Registry}. */
class MlflowClient implements Registry {
  readonly #http: HttpTransport;
  readonly #baseUrl: string;
  readonly #displayUrl: string;
  readonly #now: () => Date;
  readonly #artifactRoots = new Map<string, string>();

  constructor(http: HttpTransport, now: () => Date) {
    this.#http = http;
    this.#baseUrl = http.baseUrl;
    this.#displayUrl = http.displayUrl;
    this.#now = now;
  }

  async #call<T>(
    method: RequestSpec["method"],
    path: string,
    options: CallOptions = {},
  ): Promise<T> {
    const url = `${this.#baseUrl}/api/2.0/mlflow/${path}`;
    const spec: RequestSpec = {
      method,
      url,
      idempotent: options.idempotent ?? true,
      ...(options.query !== undefined ? { query: options.query } : {}),
      ...(options.body !== undefined
        ? {
            body: () => JSON.stringify(options.body),
            headers: { "Content-Type": "application/json" },
          }
        : {}),
    };
    const response = await this.#http.request(spec);
    const context = {
      displayUrl: this.#displayUrl,
      request: this.#http.describe(spec),
    };
    if (response.status < 200 || response.status >= 300)
      throw responseError(context, response);
    return parseJsonBody(context, response) as T;
  }

  async describe(): Promise<RegistryInfo> {
    const spec: RequestSpec = {
      method: "GET",
      url: `${this.#baseUrl}/version`,
      idempotent: true,
    };
    const response = await this.#http.request(spec);
    const text = typeof response.data === "string" ? response.data.trim() : "";
    // /version answers a bare version string; anything else (404 from an old server) leaves it unknown.
    const serverVersion =
      response.status === 200 && /^\d+\.\d+/.test(text) ? text : undefined;
    if (response.status === 401 || response.status === 403) {
      throw responseError(
        { displayUrl: this.#displayUrl, request: this.#http.describe(spec) },
        response,
      );
    }
    return { kind: "mlflow", location: this.#displayUrl, serverVersion };
  }

  // ---------------------------------------------------------------- experiments

  async getExperiment(experimentId: string): Promise<Experiment> {
    const res = await this.#call<{ experiment?: WireExperiment }>(
      "GET",
      "experiments/get",
      { query: { experiment_id: experimentId } },
    );
    return toExperiment(res.experiment);
  }

  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    try {
      const res = await this.#call<{ experiment?: WireExperiment }>(
        "GET",
        "experiments/get-by-name",
        { query: { experiment_name: name } },
      );
      return toExperiment(res.experiment);
    } catch (error) {
      if (error instanceof RegistryError && error.code === "REGISTRY_NOT_FOUND")
        return undefined;
      throw error;
    }
  }

  async createExperiment(options: CreateExperimentOptions): Promise<string> {
    const res = await this.#call<{ experiment_id?: string }>(
      "POST",
      "experiments/create",
      {
        // A resent create answers RESOURCE_ALREADY_EXISTS, which getOrCreateExperiment absorbs.
        idempotent: true,
        body: {
          name: options.name,
          artifact_location: options.artifactLocation,
          tags: toWireTags(options.tags),
        },
      },
    );
    return res.experiment_id ?? "";
  }

  async getOrCreateExperiment(name: string): Promise<Experiment> {
    const existing = await this.getExperimentByName(name);
    if (existing !== undefined) return existing;
    try {
      await this.createExperiment({ name });
    } catch (error) {
      if (!(
        error instanceof RegistryError && error.code === "REGISTRY_CONFLICT"
      ))
        throw error;
    }
    const created = await this.getExperimentByName(name);
    if (created === undefined) {
      throw new RegistryError(
        "REGISTRY_NOT_FOUND",
        `Experiment '${name}' was created but cannot be read back from ${this.#displayUrl}.`,
      );
    }
    return created;
  }

  // ---------------------------------------------------------------- runs

  async createRun(options: CreateRunOptions): Promise<Run> {
    const tags = { ...options.tags };
    if (options.runName !== undefined)
      tags["mlflow.runName"] ??= options.runName;
    const res = await this.#call<{ run?: WireRun }>("POST", "runs/create", {
      // Resending after an ambiguous failure would leave a stray RUNNING run: only provably unsent requests are retried.
      idempotent: false,
      body: {
        experiment_id: options.experimentId,
        run_name: options.runName,
        start_time: (options.startTime ?? this.#now()).getTime(),
        tags: toWireTags(tags),
      },
    });
    const run = toRun(res.run);
    this.#artifactRoots.set(run.info.runId, run.info.artifactUri);
    return run;
  }

  async getRun(runId: string): Promise<Run> {
    try {
      const res = await this.#call<{ run?: WireRun }>("GET", "runs/get", {
        query: { run_id: runId },
      });
      const run = toRun(res.run);
      this.#artifactRoots.set(run.info.runId, run.info.artifactUri);
      return run;
    } catch (error) {
      if (
        error instanceof RegistryError &&
        error.code === "REGISTRY_NOT_FOUND"
      ) {
        throw new RegistryError(
          "REGISTRY_NOT_FOUND",
          `Run '${runId}' does not exist in MLflow at ${this.#displayUrl}.`,
          {
            cause: error,
            httpStatus: error.httpStatus,
            mlflowErrorCode: error.mlflowErrorCode,
            details: { runId },
          },
        );
      }
      throw error;
    }
  }

  async searchRuns(options: SearchRunsOptions): Promise<Run[]> {
    const max = options.maxResults ?? 1000;
    const runs: Run[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.#call<{
        runs?: WireRun[];
        next_page_token?: string;
      }>("POST", "runs/search", {
        body: {
          experiment_ids: options.experimentIds,
          filter: runFilterString(options.filter),
          max_results: Math.min(max - runs.length, 1000),
          order_by: ["attributes.start_time DESC"],
          page_token: pageToken,
        },
      });
      runs.push(...(res.runs ?? []).map(toRun));
      pageToken = res.next_page_token === "" ? undefined : res.next_page_token;
    } while (pageToken !== undefined && runs.length < max);
    return runs;
  }

  async logBatch(options: LogBatchOptions): Promise<void> {
    // One timestamp for the whole call, fixed before the first request: a resent chunk then repeats
    // identical (key, value, timestamp, step) rows, which the SQL store drops as duplicates.
    const now = this.#now().getTime();
    const batch: BatchChunk = {
      params: Object.entries(options.params ?? {}).map(([key, value]) => ({
        key,
        value,
      })),
      tags: Object.entries(options.tags ?? {}).map(([key, value]) => ({
        key,
        value,
      })),
      metrics: (options.metrics ?? []).map((m) => ({
        key: m.key,
        value: toWireValue(m.value),
        timestamp: m.timestamp?.getTime() ?? now,
        step: m.step ?? 0,
      })),
    };
    for (const chunk of chunkLogBatch(batch)) {
      await this.#call("POST", "runs/log-batch", {
        body: { run_id: options.runId, ...chunk },
      });
    }
  }

  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const points: Metric[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.#call<{
        metrics?: WireMetricOut[];
        next_page_token?: string;
      }>("GET", "metrics/get-history", {
        query: {
          run_id: runId,
          metric_key: key,
          max_results: 25000,
          page_token: pageToken,
        },
      });
      points.push(...(res.metrics ?? []).map(toMetric));
      pageToken = res.next_page_token === "" ? undefined : res.next_page_token;
    } while (pageToken !== undefined);
    return points;
  }

  async updateRun(options: UpdateRunOptions): Promise<RunInfo> {
    const terminal =
      options.status !== undefined &&
      options.status !== "RUNNING" &&
      options.status !== "SCHEDULED";
    const endTime = options.endTime ?? (terminal ? this.#now() : undefined);
    const res = await this.#call<{ run_info?: WireRunInfo }>(
      "POST",
      "runs/update",
      {
        body: {
          run_id: options.runId,
          status: options.status,
          end_time: endTime?.getTime(),
          run_name: options.runName,
        },
      },
    );
    return toRunInfo(res.run_info);
  }

  terminateRun(
    runId: string,
    status: "FINISHED" | "FAILED" | "KILLED" = "FINISHED",
  ): Promise<RunInfo> {
    return this.updateRun({ runId, status });
  }

  async recordLoggedModel(
    runId: string,
    record: LoggedModelRecord,
  ): Promise<void> {
    await this.#call("POST", "runs/log-model", {
      body: { run_id: runId, model_json: JSON.stringify(record) },
    });
  }

  // ---------------------------------------------------------------- artifacts

  async #runArtifactRoot(runId: string): Promise<string> {
    const known = this.#artifactRoots.get(runId);
    if (known !== undefined) return known;
    return (await this.getRun(runId)).info.artifactUri;
  }

  #proxy(artifactUri: string): ProxyLocation {
    return resolveProxyLocation(this.#baseUrl, artifactUri);
  }

  async #putFile(
    location: ProxyLocation,
    file: { relPath: string; body: () => unknown; size: number },
  ): Promise<void> {
    const { relPath, body, size } = file;
    validateArtifactPath(relPath);
    const spec: RequestSpec = {
      method: "PUT",
      url: proxyFileUrl(location, relPath),
      body,
      headers: {
        "Content-Type": contentTypeFor(relPath),
        "Content-Length": String(size),
      },
      idempotent: true, // a PUT overwrites
    };
    const response = await this.#http.request(spec);
    if (response.status < 200 || response.status >= 300) {
      throw responseError(
        { displayUrl: this.#displayUrl, request: this.#http.describe(spec) },
        response,
      );
    }
  }

  async logArtifact(options: LogArtifactOptions): Promise<void> {
    const location = this.#proxy(await this.#runArtifactRoot(options.runId));
    const { size } = await stat(options.localPath);
    const relPath = joinArtifactPath(
      options.artifactPath,
      basename(options.localPath),
    );
    await this.#putFile(location, {
      relPath,
      body: () => createReadStream(options.localPath),
      size,
    });
  }

  async logArtifacts(options: LogArtifactsOptions): Promise<void> {
    const location = this.#proxy(await this.#runArtifactRoot(options.runId));
    const files = await listFilesRecursive(options.localDir);
    await mapLimit(files, 4, async (file) => {
      const local = join(options.localDir, file);
      const { size } = await stat(local);
      await this.#putFile(location, {
        relPath: joinArtifactPath(options.artifactPath, file),
        body: () => createReadStream(local),
        size,
      });
    });
  }

  async logArtifactContent(options: LogArtifactContentOptions): Promise<void> {
    const location = this.#proxy(await this.#runArtifactRoot(options.runId));
    const bytes =
      typeof options.content === "string"
        ? Buffer.from(options.content, "utf8")
        : Buffer.from(options.content);
    await this.#putFile(location, {
      relPath: joinArtifactPath(options.path),
      body: () => bytes,
      size: bytes.length,
    });
  }

  async #list(
    location: ProxyLocation,
    relPath: string,
  ): Promise<ArtifactFile[]> {
    const spec: RequestSpec = {
      method: "GET",
      url: location.endpoint,
      query: { path: joinArtifactPath(location.path, relPath) },
      idempotent: true,
    };
    const response = await this.#http.request(spec);
    const context = {
      displayUrl: this.#displayUrl,
      request: this.#http.describe(spec),
    };
    if (response.status < 200 || response.status >= 300)
      throw responseError(context, response);
    const body = parseJsonBody(context, response) as {
      files?: {
        path?: string;
        is_dir?: boolean;
        file_size?: number | string;
      }[];
    };
    // The proxy answers base names relative to the listed folder; callers want paths from the root.
    return (body.files ?? [])
      .map((f) => ({
        path: joinArtifactPath(relPath, basename(f.path ?? "")),
        isDir: f.is_dir === true,
        fileSize: f.file_size === undefined ? undefined : Number(f.file_size),
      }))
      .sort((a, b) => byCodePoint(a.path, b.path));
  }

  async listArtifacts(options: ListArtifactsOptions): Promise<ArtifactFile[]> {
    const path = joinArtifactPath(options.path);
    validateArtifactPath(path);
    return this.#list(
      this.#proxy(await this.#runArtifactRoot(options.runId)),
      path,
    );
  }

  async #downloadFile(
    location: ProxyLocation,
    relPath: string,
    dest: string,
  ): Promise<void> {
    const spec: RequestSpec = {
      method: "GET",
      url: proxyFileUrl(location, relPath),
      stream: true,
      idempotent: true,
    };
    const response = await this.#http.request(spec);
    if (response.status < 200 || response.status >= 300) {
      const error = responseError(
        { displayUrl: this.#displayUrl, request: this.#http.describe(spec) },
        response,
      );
      if (response.status === 404) {
        throw new RegistryError(
          "REGISTRY_NOT_FOUND",
          `No artifact at '${joinArtifactPath(location.path, relPath)}' in MLflow at ${this.#displayUrl}.`,
          {
            cause: error,
            httpStatus: 404,
            mlflowErrorCode: error.mlflowErrorCode,
          },
        );
      }
      throw error;
    }
    await mkdir(dirname(dest), { recursive: true });
    const temp = tempSibling(dest);
    try {
      await pipeline(response.data as Readable, createWriteStream(temp));
      await rename(temp, dest);
    } catch (error) {
      await rm(temp, { force: true });
      throw new RegistryError(
        "REGISTRY_UNAVAILABLE",
        `Download of '${relPath}' from ${this.#displayUrl} broke off: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  /**
   * Whether `relPath` is a folder (with its listing) or a file. The proxy lists a file, an empty
   * folder and a missing path alike as empty, so the parent's listing decides; asking for a missing
   * file instead would cost a 500 and its retries on 2.x (3.x answers 404).
   */
  async #probe(
    location: ProxyLocation,
    relPath: string,
  ): Promise<{ kind: "dir"; entries: ArtifactFile[] } | { kind: "file" }> {
    const entries = await this.#list(location, relPath);
    if (entries.length > 0 || relPath === "") return { kind: "dir", entries };
    const parent = relPath.includes("/")
      ? relPath.slice(0, relPath.lastIndexOf("/"))
      : "";
    const siblings = await this.#list(location, parent);
    const self = siblings.find((f) => f.path === relPath);
    if (self !== undefined)
      return self.isDir ? { kind: "dir", entries: [] } : { kind: "file" };
    const where = joinArtifactPath(location.path, relPath);
    throw new RegistryError(
      "REGISTRY_NOT_FOUND",
      `No artifact at '${where}' in MLflow at ${this.#displayUrl}; '${parent === "" ? "/" : parent}' holds: ${listOf(
        siblings.map((f) => f.path),
        "nothing",
      )}.`,
      { details: { path: where, available: siblings.map((f) => f.path) } },
    );
  }

  /** Downloads a folder's files (recursively) into `dest`, keeping their paths below `relPath`. */
  async #downloadDir(
    location: ProxyLocation,
    dir: { relPath: string; entries: ArtifactFile[] },
    dest: string,
  ): Promise<void> {
    const { relPath, entries } = dir;
    const files: string[] = [];
    const walk = async (items: ArtifactFile[]): Promise<void> => {
      for (const item of items) {
        if (item.isDir) await walk(await this.#list(location, item.path));
        else files.push(item.path);
      }
    };
    await walk(entries);
    await mkdir(dest, { recursive: true });
    const prefix = relPath === "" ? 0 : relPath.length + 1;
    await mapLimit(files, 4, (file) =>
      this.#downloadFile(location, file, join(dest, file.slice(prefix))),
    );
  }

  async downloadArtifacts(options: DownloadArtifactsOptions): Promise<string> {
    const path = joinArtifactPath(options.path);
    validateArtifactPath(path);
    const location = this.#proxy(await this.#runArtifactRoot(options.runId));
    const dest = path === "" ? options.destDir : join(options.destDir, path);
    const probe = await this.#probe(location, path);
    if (probe.kind === "file") await this.#downloadFile(location, path, dest);
    else
      await this.#downloadDir(
        location,
        { relPath: path, entries: probe.entries },
        dest,
      );
    return dest;
  }

  // ---------------------------------------------------------------- registered models and versions

  async createRegisteredModel(
    options: CreateRegisteredModelOptions,
  ): Promise<RegisteredModel> {
    const res = await this.#call<{ registered_model?: WireRegisteredModel }>(
      "POST",
      "registered-models/create",
      {
        idempotent: true, // a resend answers RESOURCE_ALREADY_EXISTS
        body: {
          name: options.name,
          description: options.description,
          tags: toWireTags(options.tags),
        },
      },
    );
    return toRegisteredModel(res.registered_model);
  }

  async #modelNames(): Promise<string[]> {
    return (
      await this.searchRegisteredModels({ maxResults: 100 }).catch(() => [])
    ).map((m) => m.name);
  }

  async #modelNotFound(
    name: string,
    cause: RegistryError,
  ): Promise<RegistryError> {
    const names = await this.#modelNames();
    return new RegistryError(
      "REGISTRY_NOT_FOUND",
      `Registered model '${name}' does not exist in MLflow at ${this.#displayUrl}; models: ${listOf(names, "none")}.`,
      {
        cause,
        httpStatus: cause.httpStatus,
        mlflowErrorCode: cause.mlflowErrorCode,
        details: { name, available: names },
      },
    );
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    try {
      const res = await this.#call<{ registered_model?: WireRegisteredModel }>(
        "GET",
        "registered-models/get",
        { query: { name } },
      );
      return toRegisteredModel(res.registered_model);
    } catch (error) {
      if (error instanceof RegistryError && error.code === "REGISTRY_NOT_FOUND")
        throw await this.#modelNotFound(name, error);
      throw error;
    }
  }

  async getOrCreateRegisteredModel(name: string): Promise<RegisteredModel> {
    try {
      return await this.createRegisteredModel({ name });
    } catch (error) {
      if (error instanceof RegistryError && error.code === "REGISTRY_CONFLICT")
        return this.getRegisteredModel(name);
      throw error;
    }
  }

  async searchRegisteredModels(
    options: SearchRegisteredModelsOptions = {},
  ): Promise<RegisteredModel[]> {
    const max = options.maxResults ?? 1000;
    const models: RegisteredModel[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.#call<{
        registered_models?: WireRegisteredModel[];
        next_page_token?: string;
      }>("GET", "registered-models/search", {
        query: {
          filter:
            options.nameLike === undefined
              ? undefined
              : `name LIKE ${quoteName(options.nameLike)}`,
          max_results: Math.min(max - models.length, 1000),
          page_token: pageToken,
        },
      });
      models.push(...(res.registered_models ?? []).map(toRegisteredModel));
      pageToken = res.next_page_token === "" ? undefined : res.next_page_token;
    } while (pageToken !== undefined && models.length < max);
    return models;
  }

  async createModelVersion(
    options: CreateModelVersionOptions,
  ): Promise<ModelVersion> {
    const res = await this.#call<{ model_version?: WireModelVersion }>(
      "POST",
      "model-versions/create",
      {
        // A resend after an ambiguous failure would register a second version of the same model.
        idempotent: false,
        body: {
          name: options.name,
          source: options.source,
          run_id: options.runId,
          description: options.description,
          tags: toWireTags(options.tags),
        },
      },
    );
    return toModelVersion(res.model_version);
  }

  async #versionOfRun(
    name: string,
    runId: string,
  ): Promise<ModelVersion | undefined> {
    return (await this.searchModelVersions({ name, runId })).at(-1);
  }

  async getOrCreateModelVersion(
    options: CreateModelVersionOptions & { runId: string },
  ): Promise<ModelVersion> {
    const existing = await this.#versionOfRun(options.name, options.runId);
    if (existing !== undefined) return existing;
    try {
      return await this.createModelVersion(options);
    } catch (error) {
      // The server may have registered it and the answer been lost: one look before giving up.
      if (!(
        error instanceof RegistryError && error.code === "REGISTRY_UNAVAILABLE"
      ))
        throw error;
      const registered = await this.#versionOfRun(
        options.name,
        options.runId,
      ).catch(() => undefined);
      if (registered !== undefined) return registered;
      throw error;
    }
  }

  async #versionNotFound(
    name: string,
    what: string,
    cause: RegistryError,
  ): Promise<RegistryError> {
    let versions: ModelVersion[];
    try {
      versions = await this.searchModelVersions({ name, maxResults: 200 });
    } catch {
      versions = [];
    }
    if (versions.length === 0) {
      const exists = await this.#call("GET", "registered-models/get", {
        query: { name },
      }).then(
        () => true,
        () => false,
      );
      if (!exists) return this.#modelNotFound(name, cause);
    }
    const listed = versions.map(
      (v) =>
        `${v.version} (${v.currentStage}${v.aliases.length > 0 ? `, @${v.aliases.join(" @")}` : ""})`,
    );
    return new RegistryError(
      "REGISTRY_NOT_FOUND",
      `${what}; versions of '${name}': ${listOf(listed, "none")}.`,
      {
        cause,
        httpStatus: cause.httpStatus,
        mlflowErrorCode: cause.mlflowErrorCode,
        details: { name, available: versions.map((v) => v.version) },
      },
    );
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    try {
      const res = await this.#call<{ model_version?: WireModelVersion }>(
        "GET",
        "model-versions/get",
        { query: { name, version } },
      );
      return toModelVersion(res.model_version);
    } catch (error) {
      if (
        error instanceof RegistryError &&
        error.code === "REGISTRY_NOT_FOUND"
      ) {
        throw await this.#versionNotFound(
          name,
          `Model '${name}' has no version ${version}`,
          error,
        );
      }
      throw error;
    }
  }

  async searchModelVersions(
    options: SearchModelVersionsOptions,
  ): Promise<ModelVersion[]> {
    const clauses: string[] = [];
    if (options.name !== undefined)
      clauses.push(`name=${quoteName(options.name)}`);
    if (options.runId !== undefined)
      clauses.push(`run_id=${quoteName(options.runId)}`);
    const max = options.maxResults ?? 1000;
    const versions: ModelVersion[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.#call<{
        model_versions?: WireModelVersion[];
        next_page_token?: string;
      }>("GET", "model-versions/search", {
        query: {
          filter: clauses.length === 0 ? undefined : clauses.join(" and "),
          max_results: Math.min(max - versions.length, 10_000),
          page_token: pageToken,
        },
      });
      versions.push(...(res.model_versions ?? []).map(toModelVersion));
      pageToken = res.next_page_token === "" ? undefined : res.next_page_token;
    } while (pageToken !== undefined && versions.length < max);
    return (await this.#withAliases(versions)).sort(byVersionDesc);
  }

  /**
   * Fills `aliases` from the registered models: 2.x leaves them out of search and
   * get-latest-versions answers, 3.x fills them; one extra request per model keeps both alike.
   */
  async #withAliases(versions: ModelVersion[]): Promise<ModelVersion[]> {
    const names = [...new Set(versions.map((v) => v.name))];
    const maps = new Map<string, Record<string, string>>();
    await Promise.all(
      names.map(async (name) => {
        const res = await this.#call<{
          registered_model?: WireRegisteredModel;
        }>("GET", "registered-models/get", { query: { name } });
        maps.set(name, toRegisteredModel(res.registered_model).aliases);
      }),
    );
    return versions.map((v) => ({
      ...v,
      aliases: Object.entries(maps.get(v.name) ?? {})
        .filter(([, version]) => version === v.version)
        .map(([alias]) => alias)
        .sort(),
    }));
  }

  async getLatestVersions(
    name: string,
    stages?: readonly ModelStage[],
  ): Promise<ModelVersion[]> {
    try {
      const res = await this.#call<{ model_versions?: WireModelVersion[] }>(
        "POST",
        "registered-models/get-latest-versions",
        {
          body: { name, stages: stages?.map(requireStage) },
        },
      );
      return (
        await this.#withAliases((res.model_versions ?? []).map(toModelVersion))
      ).sort(byVersionDesc);
    } catch (error) {
      if (error instanceof RegistryError && error.code === "REGISTRY_NOT_FOUND")
        throw await this.#modelNotFound(name, error);
      throw error;
    }
  }

  async transitionModelVersionStage(
    options: TransitionStageOptions,
  ): Promise<ModelVersion> {
    const stage = requireStage(options.stage);
    // The server answers this with a 500, which would be retried for nothing.
    validateArchiveStage(stage, options.archiveExistingVersions ?? false);
    try {
      const res = await this.#call<{ model_version?: WireModelVersion }>(
        "POST",
        "model-versions/transition-stage",
        {
          body: {
            name: options.name,
            version: options.version,
            stage,
            archive_existing_versions: options.archiveExistingVersions ?? false,
          },
        },
      );
      const moved = toModelVersion(res.model_version);
      if (options.archiveExistingVersions === true)
        await this.#settleStage(options.name, stage);
      return moved;
    } catch (error) {
      if (
        error instanceof RegistryError &&
        error.code === "REGISTRY_NOT_FOUND"
      ) {
        throw await this.#versionNotFound(
          options.name,
          `Model '${options.name}' has no version ${options.version}`,
          error,
        );
      }
      throw error;
    }
  }

  /**
   * MLflow 3.x serves requests concurrently and its archive_existing_versions is not atomic: two
   * promotions racing can both leave their version in the stage (measured: about one full test
   * run in four under load). After each such promotion the stage is read back and every version
   * but the last one moved there (latest update, then highest number) is archived. Every racer
   * picks the same winner from the same final state, and the last to commit reads that state.
   */
  async #settleStage(name: string, stage: ModelStage): Promise<void> {
    const inStage = (await this.searchModelVersions({ name })).filter(
      (v) => v.currentStage === stage,
    );
    if (inStage.length < 2) return;
    const rank = (v: ModelVersion) => [
      v.lastUpdatedTime?.getTime() ?? 0,
      Number(v.version),
    ];
    const winner = inStage.reduce((best, v) => {
      const [bt, bv] = rank(best);
      const [t, n] = rank(v);
      return t! > bt! || (t === bt && n! > bv!) ? v : best;
    });
    for (const v of inStage) {
      if (v.version === winner.version) continue;
      await this.#call("POST", "model-versions/transition-stage", {
        body: {
          name,
          version: v.version,
          stage: "Archived",
          archive_existing_versions: false,
        },
      });
    }
  }

  async setRegisteredModelAlias(options: SetAliasOptions): Promise<void> {
    validateAlias(options.alias);
    try {
      await this.#call("POST", "registered-models/alias", {
        body: {
          name: options.name,
          alias: options.alias,
          version: options.version,
        },
      });
    } catch (error) {
      if (
        error instanceof RegistryError &&
        error.code === "REGISTRY_NOT_FOUND"
      ) {
        throw await this.#versionNotFound(
          options.name,
          `Model '${options.name}' has no version ${options.version}`,
          error,
        );
      }
      throw error;
    }
  }

  async getModelVersionByAlias(
    name: string,
    alias: string,
  ): Promise<ModelVersion> {
    try {
      const res = await this.#call<{ model_version?: WireModelVersion }>(
        "GET",
        "registered-models/alias",
        { query: { name, alias } },
      );
      return toModelVersion(res.model_version);
    } catch (error) {
      // 2.16 and 3.17 both answer an unknown alias with INVALID_PARAMETER_VALUE, not RESOURCE_DOES_NOT_EXIST.
      if (!(
        error instanceof RegistryError &&
        (error.code === "REGISTRY_NOT_FOUND" ||
          error.code === "REGISTRY_INVALID_REQUEST")
      ))
        throw error;
      const model = await this.getRegisteredModel(name); // throws the model-level NOT_FOUND when that is the cause
      if (Object.hasOwn(model.aliases, alias)) throw error;
      const aliases = Object.entries(model.aliases).map(
        ([a, v]) => `@${a} → ${v}`,
      );
      throw new RegistryError(
        "REGISTRY_NOT_FOUND",
        `Model '${name}' has no alias '${alias}'; aliases: ${listOf(aliases, "none")}.`,
        {
          cause: error,
          httpStatus: error.httpStatus,
          mlflowErrorCode: error.mlflowErrorCode,
          details: { name, alias, available: Object.keys(model.aliases) },
        },
      );
    }
  }

  async deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    // DELETE carries its fields in a JSON body: the server reads the query string only for GET.
    await this.#call("DELETE", "registered-models/alias", {
      body: { name, alias },
    });
  }

  // ---------------------------------------------------------------- model URIs

  async resolveArtifactLocation(
    uri: string,
  ): Promise<ResolvedArtifactLocation> {
    const parsed = parseModelUri(uri);
    let version: ModelVersion;
    switch (parsed.kind) {
      case "storage":
        return {
          artifactUri: parsed.uri,
          modelVersion: undefined,
          runId: undefined,
        };
      case "run": {
        const root = await this.#runArtifactRoot(parsed.runId);
        return {
          artifactUri: parsed.path === "" ? root : `${root}/${parsed.path}`,
          modelVersion: undefined,
          runId: parsed.runId,
        };
      }
      case "logged-model": {
        let res: {
          model?: { info?: { artifact_uri?: string; source_run_id?: string } };
        };
        try {
          res = await this.#call(
            "GET",
            `logged-models/${encodeURIComponent(parsed.modelId)}`,
          );
        } catch (error) {
          // A 2.x server has no such route and answers Flask's HTML 404.
          if (
            error instanceof RegistryError &&
            error.code === "REGISTRY_PROTOCOL" &&
            error.httpStatus === 404
          ) {
            const { serverVersion } = await this.describe();
            throw new RegistryError(
              "REGISTRY_PROTOCOL",
              `'${uri}' names an MLflow 3 logged model, but MLflow at ${this.#displayUrl} (${serverVersion ?? "unknown version"}) has no logged models.`,
              {
                cause: error,
                httpStatus: 404,
                hint: "Use models:/NAME/VERSION or models:/NAME@ALIAS, or an MLflow 3 server.",
              },
            );
          }
          throw error;
        }
        return {
          artifactUri: res.model?.info?.artifact_uri ?? "",
          modelVersion: undefined,
          runId: res.model?.info?.source_run_id,
        };
      }
      case "version":
        version = await this.getModelVersion(parsed.name, parsed.version);
        break;
      case "alias":
        version = await this.getModelVersionByAlias(parsed.name, parsed.alias);
        break;
      case "latest":
      case "stage": {
        const stages = parsed.kind === "stage" ? [parsed.stage] : undefined;
        const latest = (await this.getLatestVersions(parsed.name, stages))[0];
        if (latest === undefined) {
          const missing = new RegistryError(
            "REGISTRY_NOT_FOUND",
            `No version of '${parsed.name}' matches ${uri}`,
          );
          const where =
            parsed.kind === "stage"
              ? `No version of '${parsed.name}' is in stage ${parsed.stage}`
              : `Model '${parsed.name}' has no version`;
          throw await this.#versionNotFound(parsed.name, where, missing);
        }
        version = latest;
        break;
      }
    }
    const res = await this.#call<{ artifact_uri?: string }>(
      "GET",
      "model-versions/get-download-uri",
      {
        query: { name: version.name, version: version.version },
      },
    );
    let artifactUri = res.artifact_uri ?? version.source;
    // A version registered with a runs:/ source is stored as is; the server does not resolve it.
    if (artifactUri.startsWith("runs:"))
      artifactUri = (await this.resolveArtifactLocation(artifactUri))
        .artifactUri;
    return { artifactUri, modelVersion: version, runId: version.runId };
  }

  async downloadModel(
    uri: string,
    destDir: string,
  ): Promise<DownloadModelResult> {
    const resolved = await this.resolveArtifactLocation(uri);
    const { endpoint, path } = this.#proxy(resolved.artifactUri);
    // Probe from the parent so a model that is a single file is told apart from a folder.
    const slash = path.lastIndexOf("/");
    const parent: ProxyLocation = {
      endpoint,
      path: slash < 0 ? "" : path.slice(0, slash),
    };
    const name = slash < 0 ? path : path.slice(slash + 1);
    const probe = await this.#probe(parent, name);
    // A folder's files land directly in destDir (destDir/MLmodel); a single file keeps its name.
    const localPath =
      probe.kind === "file" ? join(destDir, basename(name)) : destDir;
    if (probe.kind === "file")
      await this.#downloadFile(parent, name, localPath);
    else
      await this.#downloadDir(
        parent,
        { relPath: name, entries: probe.entries },
        destDir,
      );
    return { ...resolved, localPath };
  }

  close(): Promise<void> {
    return this.#http.close();
  }
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function requireRange(
  name: string,
  value: number,
  [min, max]: [number, number],
): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new RegistryError(
      "REGISTRY_INVALID_REQUEST",
      `${name} must be between ${min} and ${max}, got ${value}.`,
    );
  }
  return value;
}

/**
 * A {@link Registry} talking to an MLflow tracking server (2.x or 3.x) over REST.
 * Retries like the official client: 408, 429, 500, 502, 503, 504 and connection errors, with
 * exponential backoff and jitter, honouring Retry-After; creates of runs and model versions are
 * resent only when the request provably did not reach the server.
 * @throws REGISTRY_URI_INVALID when the tracking URI is not an http(s) URL
 */
export function createMlflowClient(options: MlflowClientOptions): Registry {
  const {
    url,
    username: urlUser,
    password: urlPassword,
  } = splitCredentials(options.trackingUri.trim());
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RegistryError(
      "REGISTRY_URI_INVALID",
      `MLFLOW_TRACKING_URI '${redactUrl(url)}' is not a URL.`,
      {
        hint: "Use the server's root URL, e.g. http://127.0.0.1:5000, or unset it to use the local registry.",
      },
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new RegistryError(
      "REGISTRY_URI_INVALID",
      `MLFLOW_TRACKING_URI '${redactUrl(url)}' is not an http(s) URL; this client talks to a tracking server only.`,
      {
        hint: "Use the server's root URL, e.g. http://127.0.0.1:5000, or unset it to use the local registry.",
      },
    );
  }
  const username = options.username ?? urlUser;
  const password = options.password ?? urlPassword;
  const authorization =
    username !== undefined && password !== undefined
      ? `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`
      : options.token !== undefined && options.token !== ""
        ? `Bearer ${options.token}`
        : undefined;
  const now = options.now ?? (() => new Date());
  const http = new HttpTransport({
    baseUrl: url.replace(/\/+$/, ""),
    displayUrl: redactUrl(options.trackingUri.trim()).replace(/\/+$/, ""),
    authorization,
    insecureTls: options.insecureTls ?? false,
    timeoutMs: requireRange(
      "timeoutMs",
      options.timeoutMs ?? 120_000,
      [1, 86_400_000],
    ),
    retry: {
      maxRetries: requireRange("maxRetries", options.maxRetries ?? 7, [0, 100]),
      backoffFactorMs: requireRange(
        "backoffFactorMs",
        options.backoffFactorMs ?? 2_000,
        [0, 120_000],
      ),
      backoffJitterMs: requireRange(
        "backoffJitterMs",
        options.backoffJitterMs ?? 1_000,
        [0, 120_000],
      ),
      backoffMaxMs: requireRange(
        "backoffMaxMs",
        options.backoffMaxMs ?? 120_000,
        [0, 3_600_000],
      ),
    },
    respectRetryAfter: options.respectRetryAfter ?? true,
    logger: options.logger ?? SILENT_LOGGER,
    now,
    sleep: options.sleep ?? defaultSleep,
    random: options.random ?? Math.random,
  });
  return new MlflowClient(http, now);
}
