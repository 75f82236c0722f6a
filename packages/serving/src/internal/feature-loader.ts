import type { OnlineFeatures } from "@streamflow/features";

interface Waiter {
  resolve: (features: OnlineFeatures) => void;
  reject: (error: unknown) => void;
}

/**
 * Coalesces single-user lookups into one online-store query. Requests parsed in the same turn of
 * the event loop share a query, and while `maxInFlight` queries run, new ids wait for the next
 * one. Under load this turns N round trips into one (the database and this process share the same
 * cores); with one request at a time it adds no wait: a lone id is queried on the next turn.
 */
export class FeatureLoader {
  readonly #load: (userIds: readonly string[]) => Promise<OnlineFeatures[]>;
  readonly #maxInFlight: number;
  readonly #maxBatch: number;
  #pending = new Map<string, Waiter[]>();
  #scheduled = false;
  #inFlight = 0;

  constructor(options: {
    load: (userIds: readonly string[]) => Promise<OnlineFeatures[]>;
    maxInFlight: number;
    maxBatch: number;
  }) {
    this.#load = options.load;
    this.#maxInFlight = options.maxInFlight;
    this.#maxBatch = options.maxBatch;
  }

  get(userId: string): Promise<OnlineFeatures> {
    return new Promise((resolve, reject) => {
      const waiters = this.#pending.get(userId);
      if (waiters === undefined)
        this.#pending.set(userId, [{ resolve, reject }]);
      else waiters.push({ resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (
      this.#scheduled ||
      this.#inFlight >= this.#maxInFlight ||
      this.#pending.size === 0
    )
      return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#inFlight >= this.#maxInFlight || this.#pending.size === 0) return;
    let batch: Map<string, Waiter[]>;
    if (this.#pending.size <= this.#maxBatch) {
      batch = this.#pending;
      this.#pending = new Map();
    } else {
      batch = new Map([...this.#pending].slice(0, this.#maxBatch));
      for (const id of batch.keys()) this.#pending.delete(id);
    }
    this.#inFlight++;
    try {
      const rows = await this.#load([...batch.keys()]);
      for (const features of rows)
        for (const w of batch.get(features.userId) ?? []) w.resolve(features);
    } catch (error) {
      for (const waiters of batch.values())
        for (const w of waiters) w.reject(error);
    } finally {
      this.#inFlight--;
      this.#schedule();
    }
  }
}
