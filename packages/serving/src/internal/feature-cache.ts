import type { OnlineFeatures } from "@streamflow/features";
import type { LoadedModel } from "./loaded-model.ts";

/** A user's online features as read at one moment, and the prediction a model made from them. */
export interface CachedFeatures {
  features: OnlineFeatures;
  expiresAt: number;
  /** Set by the first request that scores these features; valid for that model only. */
  prediction?: { model: LoadedModel; probability: number };
}

/**
 * Recently read online features, kept for `ttlMs`. Churn features change when a month is
 * materialized, so a few seconds of staleness costs nothing, while reading PostgreSQL and walking
 * 300 trees for every request is most of a prediction's cost. A prediction is a pure function of
 * the features and the model, so it is cached beside the features it was made from, per model.
 * Unknown users are cached too (as not found) so a hot unknown id does not reach the database.
 * Oldest entries go first once `maxEntries` is reached. A ttl of 0 turns the cache off.
 */
export class FeatureCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, CachedFeatures>();

  constructor(options: {
    ttlMs: number;
    maxEntries: number;
    now?: () => number;
  }) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries;
    this.#now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.#ttlMs > 0;
  }

  get(userId: string): CachedFeatures | undefined {
    const entry = this.#entries.get(userId);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.#now()) return entry;
    this.#entries.delete(userId);
    return undefined;
  }

  /** Stores freshly read features (unless the cache is off) and returns their entry. */
  set(features: OnlineFeatures): CachedFeatures {
    const entry: CachedFeatures = {
      features,
      expiresAt: this.#now() + this.#ttlMs,
    };
    if (!this.enabled) return entry;
    // Re-inserting moves the id to the end, so the first key is always the oldest write.
    this.#entries.delete(features.userId);
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(features.userId, entry);
    return entry;
  }

  get size(): number {
    return this.#entries.size;
  }
}
