import type { Logger as PinoLogger } from "pino";
import { isStreamflowError } from "@streamflow/core";
import type { OnlineStoreDescription } from "@streamflow/features";
import { isRegistryError, type Registry } from "@streamflow/registry-client";
import {
  checkModelAgainstStore,
  describeTarget,
  loadVerifiedModel,
  modelFeatures,
  resolveTarget,
  type ModelTarget,
} from "@streamflow/lifecycle";
import type { LoadedModel } from "./loaded-model.ts";
import type { ServingMetrics } from "./metrics.ts";

export type ReloadOutcome = "loaded" | "unchanged" | "failed";

export interface RegistryStatus {
  /** undefined until the first check. */
  reachable: boolean | undefined;
  lastCheckAt: Date | undefined;
  /** Why the last check or load failed; null after a good one. */
  lastError: string | null;
}

export interface ModelManagerOptions {
  registry: Registry;
  target: ModelTarget;
  describeStore: () => Promise<OnlineStoreDescription>;
  metrics: ServingMetrics;
  logger: PinoLogger;
}

const UNREACHABLE = new Set([
  "REGISTRY_UNAVAILABLE",
  "REGISTRY_LOCK_TIMEOUT",
  "REGISTRY_PROTOCOL",
]);

/**
 * Holds the model being served and follows the registry. A new version is downloaded, verified,
 * checked against the online store and warmed up beside the current one, then swapped in with a
 * single assignment: a request reads `current` once and keeps that model to the end, so none sees
 * a half-loaded model and none fails because of a reload.
 */
export class ModelManager {
  readonly #options: ModelManagerOptions;
  #current: LoadedModel | undefined;
  #inflight: Promise<ReloadOutcome> | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** The error of the last failed check, for callers that treat some failures as fatal. */
  lastFailure: unknown;
  readonly status: RegistryStatus = {
    reachable: undefined,
    lastCheckAt: undefined,
    lastError: null,
  };

  constructor(options: ModelManagerOptions) {
    this.#options = options;
  }

  get current(): LoadedModel | undefined {
    return this.#current;
  }

  get uri(): string {
    return describeTarget(this.#options.target);
  }

  /** Checks the registry once and loads the version the target points at if it is not the one served. Never throws. */
  refresh(): Promise<ReloadOutcome> {
    // Overlapping checks (a slow download outlasting the poll interval) share one attempt.
    this.#inflight ??= this.#refresh().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** Polls every `intervalMs`; the timer does not keep the process alive. */
  startPolling(intervalMs: number): void {
    this.stopPolling();
    if (intervalMs <= 0) return;
    this.#timer = setInterval(() => void this.refresh(), intervalMs);
    this.#timer.unref();
  }

  stopPolling(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Waits for a reload in progress, so shutdown does not leave a download behind. */
  async settle(): Promise<void> {
    await this.#inflight;
  }

  async #refresh(): Promise<ReloadOutcome> {
    const { registry, target, metrics, logger } = this.#options;
    const now = new Date();
    this.status.lastCheckAt = now;
    metrics.lastRegistryCheck.set(now.getTime() / 1000);
    try {
      const version = await resolveTarget(registry, target);
      this.#markReachable(true);
      const current = this.#current;
      if (
        current !== undefined &&
        current.ref.name === version.name &&
        current.ref.version === version.version
      ) {
        // The stage can change without the version changing (e.g. Staging → Production).
        if (current.ref.stage !== version.currentStage) {
          current.ref.stage = version.currentStage;
          this.#publish(current);
        }
        this.status.lastError = null;
        return "unchanged";
      }
      const started = performance.now();
      const { model, sha256 } = await loadVerifiedModel({ registry, version });
      const featureViews = checkModelAgainstStore(
        model,
        await this.#options.describeStore(),
      );
      const features = modelFeatures(model);
      // One prediction before going live: the first real request should not pay for JIT warm-up.
      model.predictProbaRow(Object.fromEntries(features.map((f) => [f, null])));
      const loaded: LoadedModel = {
        ref: {
          name: version.name,
          version: version.version,
          stage: version.currentStage,
          alias: target.kind === "alias" ? target.alias : null,
          runId: version.runId ?? null,
        },
        model,
        sha256,
        features,
        featureViews,
        loadedAt: new Date(),
      };
      this.#current = loaded;
      this.status.lastError = null;
      metrics.reloads.labels({ result: "success" }).inc();
      this.#publish(loaded);
      logger.info(
        {
          model: loaded.ref,
          sha256,
          ms: Math.round(performance.now() - started),
          previous: current?.ref.version ?? null,
        },
        current === undefined
          ? `serving ${loaded.ref.name} version ${loaded.ref.version}`
          : `switched ${loaded.ref.name} from version ${current.ref.version} to ${loaded.ref.version}`,
      );
      return "loaded";
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const unreachable = isRegistryError(error) && UNREACHABLE.has(error.code);
      if (unreachable) this.#markReachable(false);
      else if (isRegistryError(error)) this.#markReachable(true);
      this.status.lastError = message;
      this.lastFailure = error;
      metrics.reloads.labels({ result: "failure" }).inc();
      const keeping =
        this.#current === undefined
          ? "no model is loaded"
          : `still serving version ${this.#current.ref.version}`;
      // Expected failures (nothing promoted yet, registry down) get one line; anything else its stack too.
      const detail = isStreamflowError(error)
        ? { code: error.code }
        : { err: error };
      logger.warn(
        { ...detail, uri: this.uri },
        `model check failed (${keeping}): ${message}`,
      );
      return "failed";
    }
  }

  #publish({ ref }: LoadedModel): void {
    const { modelInfo, modelVersion } = this.#options.metrics;
    modelInfo.reset();
    modelInfo
      .labels({
        name: ref.name,
        version: ref.version,
        stage: ref.stage,
        alias: ref.alias ?? "",
        run_id: ref.runId ?? "",
      })
      .set(1);
    modelVersion.set(Number(ref.version));
  }

  #markReachable(reachable: boolean): void {
    this.status.reachable = reachable;
    this.#options.metrics.registryReachable.set(reachable ? 1 : 0);
  }
}
