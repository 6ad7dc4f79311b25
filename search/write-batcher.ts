/**
 * Gathers the writes of concurrent callers into batches, with at most `maxInFlight` batches running: while all
 * are busy, new writes wait for the next batches, and so do their callers (back-pressure up to the bus consumer). A
 * batch closes once it holds `maxItems` (it goes at once, if a slot is free) or at the end of the event-loop turn
 * with whatever that turn wrote; a write is never split, so the items of one `write` stay together and in order. A
 * batch that fails rejects every write in it; callers retry.
 */
export class WriteBatcher<T> {
  private readonly pending: { items: readonly T[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private pendingItems = 0;
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly run: (items: T[]) => Promise<void>,
    private readonly options: { maxItems: number; maxInFlight: number },
  ) {}

  write(items: readonly T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ items, resolve, reject });
      this.pendingItems += items.length;
      this.schedule();
    });
  }

  private schedule(): void {
    // Full batches go at once, as many as there are free slots, even while the end-of-turn batch is waiting.
    while (this.inFlight < this.options.maxInFlight && this.pendingItems >= this.options.maxItems) this.start();
    if (this.scheduled || this.inFlight >= this.options.maxInFlight || this.pending.length === 0) return;
    // What is left goes at the end of this turn, with whatever else this turn writes.
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.inFlight < this.options.maxInFlight && this.pending.length > 0) this.start();
    });
  }

  /** Starts a batch of the first pending writes, whole, up to `maxItems` items (or one larger write). */
  private start(): void {
    let count = 0;
    let writes = 0;
    while (writes < this.pending.length && count < this.options.maxItems) count += this.pending[writes++]!.items.length;
    const batch = this.pending.splice(0, writes);
    this.pendingItems -= count;
    this.inFlight++;
    const items = batch.length === 1 ? [...batch[0]!.items] : batch.flatMap((w) => w.items);
    void this.run(items)
      .then(
        () => batch.forEach((w) => w.resolve()),
        (err: unknown) => batch.forEach((w) => w.reject(err)),
      )
      .finally(() => {
        this.inFlight--;
        this.schedule();
      });
  }
}
