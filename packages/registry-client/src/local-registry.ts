import { randomBytes } from "node:crypto";
import {
  copyFile,
  cp,
  mkdir,
  readFile,
  readdir,
  rename,
  stat,
} from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { RegistryError } from "./errors.ts";
import { parseModelUri } from "./model-uri.ts";
import {
  fromWireValue,
  toWireValue,
  type WireMetric,
} from "./internal/batch.ts";
import { withFileLock } from "./internal/file-lock.ts";
import {
  listFilesRecursive,
  mapLimit,
  tempSibling,
  writeFileAtomic,
} from "./internal/files.ts";
import {
  byCodePoint,
  isLaterMetric,
  joinArtifactPath,
  requireStage,
  validateAlias,
  validateArchiveStage,
  validateArtifactPath,
  validateKey,
} from "./internal/validation.ts";
import { MODEL_STAGES } from "./types.ts";
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

/** Options of {@link createLocalRegistry}. */
export interface LocalRegistryOptions {
  /** Folder holding the registry (the CLI passes `$STREAMFLOW_HOME/registry`); created when missing. */
  root: string;
  /** Clock for creation times and metric timestamps. @default () => new Date() */
  now?: () => Date;
  /** How long a writer waits for another process's lock. @default 30000 */
  lockTimeoutMs?: number;
  /** Age after which a lock held from another host is taken over. @default 60000 */
  staleLockMs?: number;
}

// ---- stored shapes: versioned so a later layout can migrate instead of misreading ----
const FORMAT = "streamflow.local-registry";
const FORMAT_VERSION = 1;

interface StoredExperiment {
  experimentId: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: "active" | "deleted";
  creationTime: number;
  lastUpdateTime: number;
  tags: Record<string, string>;
}
interface ExperimentsFile {
  format: typeof FORMAT;
  formatVersion: number;
  experiments: StoredExperiment[];
}
interface RunFile {
  format: typeof FORMAT;
  formatVersion: number;
  info: {
    runId: string;
    runName: string;
    experimentId: string;
    status: RunStatus;
    startTime: number;
    endTime: number | undefined;
  };
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: WireMetric[];
}
interface StoredVersion {
  version: string;
  currentStage: ModelStage;
  source: string;
  runId: string | undefined;
  description: string | undefined;
  creationTime: number;
  lastUpdatedTime: number;
  tags: Record<string, string>;
}
interface ModelFile {
  format: typeof FORMAT;
  formatVersion: number;
  name: string;
  description: string | undefined;
  creationTime: number;
  lastUpdatedTime: number;
  tags: Record<string, string>;
  aliases: Record<string, string>;
  versions: StoredVersion[];
}

function notFound(
  message: string,
  details?: Record<string, unknown>,
): RegistryError {
  return new RegistryError(
    "REGISTRY_NOT_FOUND",
    message,
    details === undefined ? {} : { details },
  );
}

function invalid(message: string): RegistryError {
  return new RegistryError("REGISTRY_INVALID_REQUEST", message);
}

function listOf(items: readonly string[], none: string): string {
  if (items.length === 0) return none;
  return items.length > 20
    ? `${items.slice(0, 20).join(", ")} … (${items.length} in all)`
    : items.join(", ");
}

function likeToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    .replace(/%/g, ".*")
    .replace(/_/g, ".");
  return new RegExp(`^${body}$`);
}

/**
 * The zero-setup registry: MLflow's semantics in JSON files and artifact folders under one root.
 * Every write holds one lock file for its few milliseconds and replaces whole files by rename,
 * so readers never lock and never see half a change, and two processes never lose a version.
 */
class LocalRegistry implements Registry {
  readonly #root: string;
  readonly #now: () => Date;
  readonly #lockTimeoutMs: number;
  readonly #staleLockMs: number;

  constructor(options: LocalRegistryOptions) {
    this.#root = resolve(options.root);
    this.#now = options.now ?? (() => new Date());
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 30_000;
    this.#staleLockMs = options.staleLockMs ?? 60_000;
  }

  // ---------------------------------------------------------------- storage

  #path(...parts: string[]): string {
    return join(this.#root, ...parts);
  }

  #modelPath(name: string): string {
    // Prefixed and percent-encoded: a model named '..' or 'a/b' stays one file inside models/.
    return this.#path("models", `m_${encodeURIComponent(name)}.json`);
  }

  #runDir(runId: string): string {
    if (!/^[0-9a-f]{32}$/.test(runId))
      throw notFound(
        `Run '${runId}' does not exist in the local registry at ${this.#root}.`,
        { runId },
      );
    return this.#path("runs", runId);
  }

  async #read<T extends { format?: unknown; formatVersion?: unknown }>(
    path: string,
  ): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw this.#storageError(`cannot read ${path}`, error);
    }
    let parsed: T;
    try {
      parsed = JSON.parse(text) as T;
    } catch (error) {
      throw this.#storageError(`${path} is not valid JSON`, error);
    }
    if (parsed.format !== FORMAT || parsed.formatVersion !== FORMAT_VERSION) {
      throw this.#storageError(
        `${path} is not a ${FORMAT} file of format version ${FORMAT_VERSION}`,
        undefined,
      );
    }
    return parsed;
  }

  async #write(path: string, value: object): Promise<void> {
    try {
      await writeFileAtomic(
        path,
        `${JSON.stringify({ format: FORMAT, formatVersion: FORMAT_VERSION, ...value }, null, 2)}\n`,
      );
    } catch (error) {
      throw this.#storageError(`cannot write ${path}`, error);
    }
  }

  #storageError(what: string, cause: unknown): RegistryError {
    return new RegistryError(
      "REGISTRY_STORAGE",
      `Local registry at ${this.#root}: ${what}${cause instanceof Error ? ` (${cause.message})` : ""}.`,
      {
        cause,
        hint: "Check the folder's permissions, or point STREAMFLOW_HOME elsewhere.",
      },
    );
  }

  async #locked<T>(fn: () => Promise<T>): Promise<T> {
    try {
      await mkdir(this.#root, { recursive: true });
    } catch (error) {
      throw this.#storageError("cannot create the folder", error);
    }
    return withFileLock(
      {
        path: this.#path(".lock"),
        timeoutMs: this.#lockTimeoutMs,
        staleMs: this.#staleLockMs,
      },
      fn,
    );
  }

  async describe(): Promise<RegistryInfo> {
    return Promise.resolve({
      kind: "local",
      location: this.#root,
      serverVersion: undefined,
    });
  }

  // ---------------------------------------------------------------- experiments

  async #experiments(): Promise<StoredExperiment[]> {
    return (
      (await this.#read<ExperimentsFile>(this.#path("experiments.json")))
        ?.experiments ?? []
    );
  }

  #toExperiment(e: StoredExperiment): Experiment {
    return {
      ...e,
      creationTime: new Date(e.creationTime),
      lastUpdateTime: new Date(e.lastUpdateTime),
      tags: { ...e.tags },
    };
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    const all = await this.#experiments();
    const found = all.find((e) => e.experimentId === experimentId);
    if (found === undefined) {
      throw notFound(
        `Experiment '${experimentId}' does not exist in the local registry; experiments: ${listOf(
          all.map((e) => `${e.experimentId} (${e.name})`),
          "none",
        )}.`,
      );
    }
    return this.#toExperiment(found);
  }

  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    const found = (await this.#experiments()).find((e) => e.name === name);
    return found === undefined ? undefined : this.#toExperiment(found);
  }

  async createExperiment(options: CreateExperimentOptions): Promise<string> {
    if (options.name.trim() === "" || options.name.length > 500)
      throw invalid(`Invalid experiment name '${options.name}'.`);
    return this.#locked(async () => {
      const all = await this.#experiments();
      if (all.some((e) => e.name === options.name)) {
        throw new RegistryError(
          "REGISTRY_CONFLICT",
          `Experiment '${options.name}' already exists in the local registry.`,
          {
            mlflowErrorCode: "RESOURCE_ALREADY_EXISTS",
          },
        );
      }
      const experimentId = String(
        all.reduce((max, e) => Math.max(max, Number(e.experimentId)), 0) + 1,
      );
      const now = this.#now().getTime();
      all.push({
        experimentId,
        name: options.name,
        artifactLocation:
          options.artifactLocation ?? pathToFileURL(this.#path("runs")).href,
        lifecycleStage: "active",
        creationTime: now,
        lastUpdateTime: now,
        tags: { ...options.tags },
      });
      await this.#write(this.#path("experiments.json"), { experiments: all });
      return experimentId;
    });
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
    return (await this.getExperimentByName(name))!;
  }

  // ---------------------------------------------------------------- runs

  async #runFile(runId: string): Promise<RunFile> {
    const file = await this.#read<RunFile>(
      join(this.#runDir(runId), "run.json"),
    );
    if (file === undefined)
      throw notFound(
        `Run '${runId}' does not exist in the local registry at ${this.#root}.`,
        { runId },
      );
    return file;
  }

  #toRun(file: RunFile): Run {
    const metrics: Record<string, Metric> = {};
    for (const wire of file.metrics) {
      const m: Metric = {
        key: wire.key,
        value: fromWireValue(wire.value),
        timestamp: new Date(wire.timestamp),
        step: wire.step,
      };
      if (isLaterMetric(m, metrics[m.key])) metrics[m.key] = m;
    }
    return {
      info: this.#toRunInfo(file),
      data: { metrics, params: { ...file.params }, tags: { ...file.tags } },
    };
  }

  #toRunInfo(file: RunFile): RunInfo {
    return {
      runId: file.info.runId,
      runName: file.info.runName,
      experimentId: file.info.experimentId,
      userId: undefined,
      status: file.info.status,
      startTime: new Date(file.info.startTime),
      endTime:
        file.info.endTime === undefined
          ? undefined
          : new Date(file.info.endTime),
      artifactUri: pathToFileURL(
        this.#path("runs", file.info.runId, "artifacts"),
      ).href,
      lifecycleStage: "active",
    };
  }

  async createRun(options: CreateRunOptions): Promise<Run> {
    await this.getExperiment(options.experimentId);
    const runId = randomBytes(16).toString("hex");
    const runName = options.runName ?? `run-${runId.slice(0, 8)}`;
    const file: RunFile = {
      format: FORMAT,
      formatVersion: FORMAT_VERSION,
      info: {
        runId,
        runName,
        experimentId: options.experimentId,
        status: "RUNNING",
        startTime: (options.startTime ?? this.#now()).getTime(),
        endTime: undefined,
      },
      params: {},
      tags: { ...options.tags, "mlflow.runName": runName },
      metrics: [],
    };
    await this.#locked(async () => {
      await mkdir(this.#path("runs", runId, "artifacts"), { recursive: true });
      await this.#write(this.#path("runs", runId, "run.json"), file);
    });
    return this.#toRun(file);
  }

  async getRun(runId: string): Promise<Run> {
    return this.#toRun(await this.#runFile(runId));
  }

  async searchRuns(options: SearchRunsOptions): Promise<Run[]> {
    let names: string[];
    try {
      names = await readdir(this.#path("runs"));
    } catch {
      names = [];
    }
    const wanted = new Set(options.experimentIds);
    const f = options.filter ?? {};
    const files = await Promise.all(
      names
        .filter((n) => /^[0-9a-f]{32}$/.test(n))
        .map((n) => this.#read<RunFile>(this.#path("runs", n, "run.json"))),
    );
    return files
      .filter(
        (r): r is RunFile => r !== undefined && wanted.has(r.info.experimentId),
      )
      .filter(
        (r) =>
          (f.runName === undefined || r.info.runName === f.runName) &&
          (f.status === undefined || r.info.status === f.status) &&
          Object.entries(f.params ?? {}).every(([k, v]) => r.params[k] === v) &&
          Object.entries(f.tags ?? {}).every(([k, v]) => r.tags[k] === v),
      )
      .sort((a, b) => b.info.startTime - a.info.startTime)
      .slice(0, options.maxResults ?? 1000)
      .map((r) => this.#toRun(r));
  }

  async logBatch(options: LogBatchOptions): Promise<void> {
    const now = this.#now().getTime();
    const params = Object.entries(options.params ?? {});
    const tags = Object.entries(options.tags ?? {});
    for (const [key, value] of params) {
      validateKey("param", key);
      if (value.length > 6000)
        throw invalid(
          `Param '${key}' is ${value.length} characters long; MLflow allows 6000.`,
        );
    }
    for (const [key, value] of tags) {
      validateKey("tag", key);
      if (value.length > 8000)
        throw invalid(
          `Tag '${key}' is ${value.length} characters long; MLflow allows 8000.`,
        );
    }
    const metrics: WireMetric[] = (options.metrics ?? []).map((m) => {
      validateKey("metric", m.key);
      return {
        key: m.key,
        value: toWireValue(m.value),
        timestamp: m.timestamp?.getTime() ?? now,
        step: m.step ?? 0,
      };
    });
    await this.#locked(async () => {
      const file = await this.#runFile(options.runId);
      for (const [key, value] of params) {
        const old = file.params[key];
        if (old !== undefined && old !== value) {
          // MLflow's rule: params are write-once.
          throw invalid(
            `Changing param values is not allowed: param '${key}' of run '${options.runId}' is '${old}', not '${value}'.`,
          );
        }
        file.params[key] = value;
      }
      for (const [key, value] of tags) file.tags[key] = value;
      // The SQL store keys metric rows on (key, timestamp, step, value): logging the same point twice keeps one.
      const seen = new Set(
        file.metrics.map((m) =>
          JSON.stringify([m.key, m.timestamp, m.step, m.value]),
        ),
      );
      for (const m of metrics) {
        const id = JSON.stringify([m.key, m.timestamp, m.step, m.value]);
        if (!seen.has(id)) file.metrics.push(m);
        seen.add(id);
      }
      await this.#write(join(this.#runDir(options.runId), "run.json"), file);
    });
  }

  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const file = await this.#runFile(runId);
    return file.metrics
      .filter((m) => m.key === key)
      .map((m) => ({
        key: m.key,
        value: fromWireValue(m.value),
        timestamp: new Date(m.timestamp),
        step: m.step,
      }));
  }

  async updateRun(options: UpdateRunOptions): Promise<RunInfo> {
    return this.#locked(async () => {
      const file = await this.#runFile(options.runId);
      if (options.status !== undefined) {
        file.info.status = options.status;
        const terminal =
          options.status !== "RUNNING" && options.status !== "SCHEDULED";
        if (terminal)
          file.info.endTime = (options.endTime ?? this.#now()).getTime();
      } else if (options.endTime !== undefined) {
        file.info.endTime = options.endTime.getTime();
      }
      if (options.runName !== undefined) {
        file.info.runName = options.runName;
        file.tags["mlflow.runName"] = options.runName;
      }
      await this.#write(join(this.#runDir(options.runId), "run.json"), file);
      return this.#toRunInfo(file);
    });
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
    await this.#locked(async () => {
      const file = await this.#runFile(runId);
      // Same tag and shape as the 2.x server's runs/log-model, so tools reading it see one format.
      const history = JSON.parse(
        file.tags["mlflow.log-model.history"] ?? "[]",
      ) as unknown[];
      history.push(record);
      file.tags["mlflow.log-model.history"] = JSON.stringify(history);
      await this.#write(join(this.#runDir(runId), "run.json"), file);
    });
  }

  // ---------------------------------------------------------------- artifacts

  async #artifactDir(runId: string): Promise<string> {
    await this.#runFile(runId);
    return join(this.#runDir(runId), "artifacts");
  }

  /** Copies through a temp sibling and a rename: a reader sees the old file or the whole new one. */
  async #copyIn(source: string, dest: string): Promise<void> {
    await mkdir(dirname(dest), { recursive: true });
    const temp = tempSibling(dest);
    await copyFile(source, temp);
    await rename(temp, dest);
  }

  async logArtifact(options: LogArtifactOptions): Promise<void> {
    const rel = joinArtifactPath(
      options.artifactPath,
      basename(options.localPath),
    );
    validateArtifactPath(rel);
    await this.#copyIn(
      options.localPath,
      join(await this.#artifactDir(options.runId), rel),
    );
  }

  async logArtifacts(options: LogArtifactsOptions): Promise<void> {
    const dir = await this.#artifactDir(options.runId);
    const files = await listFilesRecursive(options.localDir);
    await mapLimit(files, 8, async (file) => {
      const rel = joinArtifactPath(options.artifactPath, file);
      validateArtifactPath(rel);
      await this.#copyIn(join(options.localDir, file), join(dir, rel));
    });
  }

  async logArtifactContent(options: LogArtifactContentOptions): Promise<void> {
    const rel = joinArtifactPath(options.path);
    validateArtifactPath(rel);
    await writeFileAtomic(
      join(await this.#artifactDir(options.runId), rel),
      options.content,
    );
  }

  async listArtifacts(options: ListArtifactsOptions): Promise<ArtifactFile[]> {
    const rel = joinArtifactPath(options.path);
    validateArtifactPath(rel);
    const dir = join(await this.#artifactDir(options.runId), rel);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return []; // like the proxy: a file or a missing path lists as empty
    }
    const out: ArtifactFile[] = [];
    for (const e of entries) {
      if (e.name.startsWith(".tmp-")) continue;
      const path = joinArtifactPath(rel, e.name);
      out.push({
        path,
        isDir: e.isDirectory(),
        fileSize: e.isDirectory()
          ? undefined
          : (await stat(join(dir, e.name))).size,
      });
    }
    return out.sort((a, b) => byCodePoint(a.path, b.path));
  }

  async downloadArtifacts(options: DownloadArtifactsOptions): Promise<string> {
    const rel = joinArtifactPath(options.path);
    validateArtifactPath(rel);
    const source = join(await this.#artifactDir(options.runId), rel);
    const dest = rel === "" ? options.destDir : join(options.destDir, rel);
    await this.#copyOut(source, dest, rel);
    return dest;
  }

  async #copyOut(source: string, dest: string, label: string): Promise<void> {
    try {
      await stat(source);
    } catch {
      throw notFound(
        `No artifact at '${label}' in the local registry at ${this.#root}.`,
      );
    }
    await cp(source, dest, {
      recursive: true,
      filter: (src) => !basename(src).startsWith(".tmp-"),
    });
  }

  // ---------------------------------------------------------------- registered models and versions

  async #modelFile(name: string): Promise<ModelFile | undefined> {
    return this.#read<ModelFile>(this.#modelPath(name));
  }

  async #requireModel(name: string): Promise<ModelFile> {
    const file = await this.#modelFile(name);
    if (file !== undefined) return file;
    const names = (await this.searchRegisteredModels()).map((m) => m.name);
    throw notFound(
      `Registered model '${name}' does not exist in the local registry; models: ${listOf(names, "none")}.`,
      {
        name,
        available: names,
      },
    );
  }

  #toRegisteredModel(file: ModelFile): RegisteredModel {
    return {
      name: file.name,
      description: file.description,
      creationTime: new Date(file.creationTime),
      lastUpdatedTime: new Date(file.lastUpdatedTime),
      tags: { ...file.tags },
      aliases: { ...file.aliases },
    };
  }

  #toVersion(file: ModelFile, v: StoredVersion): ModelVersion {
    return {
      name: file.name,
      version: v.version,
      currentStage: v.currentStage,
      source: v.source,
      runId: v.runId,
      status: "READY",
      description: v.description,
      creationTime: new Date(v.creationTime),
      lastUpdatedTime: new Date(v.lastUpdatedTime),
      tags: { ...v.tags },
      aliases: Object.entries(file.aliases)
        .filter(([, version]) => version === v.version)
        .map(([alias]) => alias)
        .sort(),
    };
  }

  #versionNotFound(file: ModelFile, what: string): RegistryError {
    const listed = file.versions
      .map((v) => this.#toVersion(file, v))
      .sort((a, b) => Number(b.version) - Number(a.version))
      .map(
        (v) =>
          `${v.version} (${v.currentStage}${v.aliases.length > 0 ? `, @${v.aliases.join(" @")}` : ""})`,
      );
    return notFound(
      `${what}; versions of '${file.name}': ${listOf(listed, "none")}.`,
      {
        name: file.name,
        available: file.versions.map((v) => v.version),
      },
    );
  }

  #requireVersion(file: ModelFile, version: string): StoredVersion {
    const found = file.versions.find(
      (v) => v.version === String(Number(version)),
    );
    if (found === undefined)
      throw this.#versionNotFound(
        file,
        `Model '${file.name}' has no version ${version}`,
      );
    return found;
  }

  async createRegisteredModel(
    options: CreateRegisteredModelOptions,
  ): Promise<RegisteredModel> {
    if (options.name.trim() === "")
      throw invalid("A registered model needs a name.");
    return this.#locked(async () => {
      if ((await this.#modelFile(options.name)) !== undefined) {
        throw new RegistryError(
          "REGISTRY_CONFLICT",
          `Registered model '${options.name}' already exists in the local registry.`,
          {
            mlflowErrorCode: "RESOURCE_ALREADY_EXISTS",
          },
        );
      }
      const now = this.#now().getTime();
      const file: ModelFile = {
        format: FORMAT,
        formatVersion: FORMAT_VERSION,
        name: options.name,
        description: options.description,
        creationTime: now,
        lastUpdatedTime: now,
        tags: { ...options.tags },
        aliases: {},
        versions: [],
      };
      await this.#write(this.#modelPath(options.name), file);
      return this.#toRegisteredModel(file);
    });
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    return this.#toRegisteredModel(await this.#requireModel(name));
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

  async #allModels(): Promise<ModelFile[]> {
    let names: string[];
    try {
      names = await readdir(this.#path("models"));
    } catch {
      return [];
    }
    const files = await Promise.all(
      names
        .filter((n) => n.startsWith("m_") && n.endsWith(".json"))
        .map((n) => this.#read<ModelFile>(this.#path("models", n))),
    );
    return files
      .filter((f): f is ModelFile => f !== undefined)
      .sort((a, b) => byCodePoint(a.name, b.name));
  }

  async searchRegisteredModels(
    options: SearchRegisteredModelsOptions = {},
  ): Promise<RegisteredModel[]> {
    const like =
      options.nameLike === undefined
        ? undefined
        : likeToRegExp(options.nameLike);
    return (await this.#allModels())
      .filter((f) => like === undefined || like.test(f.name))
      .slice(0, options.maxResults ?? 1000)
      .map((f) => this.#toRegisteredModel(f));
  }

  async createModelVersion(
    options: CreateModelVersionOptions,
  ): Promise<ModelVersion> {
    return this.#createVersion(options, false);
  }

  async getOrCreateModelVersion(
    options: CreateModelVersionOptions & { runId: string },
  ): Promise<ModelVersion> {
    return this.#createVersion(options, true);
  }

  /** Looks for the run's version (when asked) and allocates the next one under the same lock. */
  async #createVersion(
    options: CreateModelVersionOptions,
    reuseRunVersion: boolean,
  ): Promise<ModelVersion> {
    if (options.runId !== undefined) await this.#runFile(options.runId);
    return this.#locked(async () => {
      const file = await this.#requireModel(options.name);
      const existing = reuseRunVersion
        ? file.versions
            .filter((v) => v.runId === options.runId)
            .sort((a, b) => Number(a.version) - Number(b.version))[0]
        : undefined;
      if (existing !== undefined) return this.#toVersion(file, existing);
      const now = this.#now().getTime();
      // Allocated under the lock from the file just read: two writers get consecutive numbers.
      const next =
        file.versions.reduce((max, v) => Math.max(max, Number(v.version)), 0) +
        1;
      const stored: StoredVersion = {
        version: String(next),
        currentStage: "None",
        source: options.source,
        runId: options.runId,
        description: options.description,
        creationTime: now,
        lastUpdatedTime: now,
        tags: { ...options.tags },
      };
      file.versions.push(stored);
      file.lastUpdatedTime = now;
      await this.#write(this.#modelPath(options.name), file);
      return this.#toVersion(file, stored);
    });
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    const file = await this.#requireModel(name);
    return this.#toVersion(file, this.#requireVersion(file, version));
  }

  async searchModelVersions(
    options: SearchModelVersionsOptions,
  ): Promise<ModelVersion[]> {
    const files =
      options.name !== undefined
        ? [await this.#modelFile(options.name)]
        : await this.#allModels();
    return files
      .flatMap((f) =>
        f === undefined ? [] : f.versions.map((v) => this.#toVersion(f, v)),
      )
      .filter((v) => options.runId === undefined || v.runId === options.runId)
      .sort(
        (a, b) =>
          byCodePoint(a.name, b.name) || Number(b.version) - Number(a.version),
      )
      .slice(0, options.maxResults ?? 1000);
  }

  async getLatestVersions(
    name: string,
    stages?: readonly ModelStage[],
  ): Promise<ModelVersion[]> {
    const file = await this.#requireModel(name);
    const wanted = (stages ?? MODEL_STAGES).map(requireStage);
    const out: ModelVersion[] = [];
    for (const stage of new Set(wanted)) {
      const newest = file.versions
        .filter((v) => v.currentStage === stage)
        .sort((a, b) => Number(b.version) - Number(a.version))[0];
      if (newest !== undefined) out.push(this.#toVersion(file, newest));
    }
    return out.sort((a, b) => Number(b.version) - Number(a.version));
  }

  async transitionModelVersionStage(
    options: TransitionStageOptions,
  ): Promise<ModelVersion> {
    const stage = requireStage(options.stage);
    const archive = options.archiveExistingVersions ?? false;
    validateArchiveStage(stage, archive);
    return this.#locked(async () => {
      const file = await this.#requireModel(options.name);
      const target = this.#requireVersion(file, options.version);
      const now = this.#now().getTime();
      if (archive) {
        for (const v of file.versions) {
          if (v !== target && v.currentStage === stage) {
            v.currentStage = "Archived";
            v.lastUpdatedTime = now;
          }
        }
      }
      target.currentStage = stage;
      target.lastUpdatedTime = now;
      file.lastUpdatedTime = now;
      await this.#write(this.#modelPath(options.name), file);
      return this.#toVersion(file, target);
    });
  }

  async setRegisteredModelAlias(options: SetAliasOptions): Promise<void> {
    validateAlias(options.alias);
    await this.#locked(async () => {
      const file = await this.#requireModel(options.name);
      const target = this.#requireVersion(file, options.version);
      file.aliases[options.alias] = target.version;
      file.lastUpdatedTime = this.#now().getTime();
      await this.#write(this.#modelPath(options.name), file);
    });
  }

  async getModelVersionByAlias(
    name: string,
    alias: string,
  ): Promise<ModelVersion> {
    const file = await this.#requireModel(name);
    const version = file.aliases[alias];
    const target =
      version === undefined
        ? undefined
        : file.versions.find((v) => v.version === version);
    if (target === undefined) {
      const aliases = Object.entries(file.aliases).map(
        ([a, v]) => `@${a} → ${v}`,
      );
      throw notFound(
        `Model '${name}' has no alias '${alias}'; aliases: ${listOf(aliases, "none")}.`,
        {
          name,
          alias,
          available: Object.keys(file.aliases),
        },
      );
    }
    return this.#toVersion(file, target);
  }

  async deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    await this.#locked(async () => {
      const file = await this.#requireModel(name);
      if (!Object.hasOwn(file.aliases, alias)) return;
      delete file.aliases[alias];
      file.lastUpdatedTime = this.#now().getTime();
      await this.#write(this.#modelPath(name), file);
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
      case "logged-model":
        throw new RegistryError(
          "REGISTRY_URI_INVALID",
          `'${uri}' names an MLflow 3 logged model, which the local registry does not keep.`,
        );
      case "run": {
        const root = (await this.getRun(parsed.runId)).info.artifactUri;
        return {
          artifactUri: parsed.path === "" ? root : `${root}/${parsed.path}`,
          modelVersion: undefined,
          runId: parsed.runId,
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
        const file = await this.#requireModel(parsed.name);
        const latest = (
          await this.getLatestVersions(
            parsed.name,
            parsed.kind === "stage" ? [parsed.stage] : undefined,
          )
        )[0];
        if (latest === undefined) {
          throw this.#versionNotFound(
            file,
            parsed.kind === "stage"
              ? `No version of '${parsed.name}' is in stage ${parsed.stage}`
              : `Model '${parsed.name}' has no version`,
          );
        }
        version = latest;
        break;
      }
    }
    const artifactUri = version.source.startsWith("runs:")
      ? (await this.resolveArtifactLocation(version.source)).artifactUri
      : version.source;
    return { artifactUri, modelVersion: version, runId: version.runId };
  }

  async downloadModel(
    uri: string,
    destDir: string,
  ): Promise<DownloadModelResult> {
    const resolved = await this.resolveArtifactLocation(uri);
    if (!resolved.artifactUri.startsWith("file:")) {
      throw new RegistryError(
        "REGISTRY_ARTIFACTS_UNSUPPORTED",
        `The local registry reads only file: locations, and '${uri}' points at '${resolved.artifactUri}'.`,
      );
    }
    const source = fileURLToPath(resolved.artifactUri);
    let isDir: boolean;
    try {
      isDir = (await stat(source)).isDirectory();
    } catch {
      throw notFound(`'${uri}' points at ${source}, which does not exist.`);
    }
    const localPath = isDir ? destDir : join(destDir, basename(source));
    await this.#copyOut(source, localPath, uri);
    return { ...resolved, localPath };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The local file {@link Registry}, the default when no tracking URI is configured. */
export function createLocalRegistry(options: LocalRegistryOptions): Registry {
  return new LocalRegistry(options);
}
