/** A bounded hand-off between the CSV reader and the database loader, with backpressure both ways. */
export class ChunkQueue implements AsyncIterable<string> {
  readonly #items: string[] = [];
  // ~16k rows a chunk: up to ~32 MB waits here while the database is busy with the previous file.
  readonly #limit = 32;
  #ended = false;
  #error: unknown;
  #failed = false;
  #wakeConsumer: (() => void) | undefined;
  #wakeProducer: (() => void) | undefined;

  async push(chunk: string): Promise<void> {
    if (this.#failed) throw this.#error;
    this.#items.push(chunk);
    this.#wake("consumer");
    while (this.#items.length >= this.#limit && !this.#failed) {
      await new Promise<void>((resolve) => (this.#wakeProducer = resolve));
    }
    if (this.#failed) throw this.#error;
  }

  end(): void {
    this.#ended = true;
    this.#wake("consumer");
  }

  fail(error: unknown): void {
    this.#failed = true;
    this.#error = error;
    this.#wake("producer");
  }

  #wake(who: "consumer" | "producer"): void {
    const wake = who === "consumer" ? this.#wakeConsumer : this.#wakeProducer;
    if (who === "consumer") this.#wakeConsumer = undefined;
    else this.#wakeProducer = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for (;;) {
      const next = this.#items.shift();
      if (next !== undefined) {
        this.#wake("producer");
        yield next;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wakeConsumer = resolve));
    }
  }
}
