/**
 * Gathers the writes of concurrent callers into batches, with at most `maxInFlight` batches running: while all
 * are busy, new writes wait in the next batch, and so do their callers (back-pressure up to the bus consumer). The
 * items of one `write` stay together and in order. A batch that fails rejects every write in it; callers retry.
 */
export class WriteBatcher<T> {
  private next: { items: T[]; waiters: { resolve: () => void; reject: (err: unknown) => void }[] } | undefined;
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly run: (items: T[]) => Promise<void>,
    private readonly options: { maxItems: number; maxInFlight: number },
  ) {}

  write(items: readonly T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.next ??= { items: [], waiters: [] };
      this.next.items.push(...items);
      this.next.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight || !this.next) return;
    // A full batch goes at once; otherwise at the end of this turn, with whatever else this turn wrote.
    if (this.next.items.length >= this.options.maxItems) return this.start();
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.start();
    });
  }

  private start(): void {
    const batch = this.next;
    if (!batch || this.inFlight >= this.options.maxInFlight) return;
    this.next = undefined;
    this.inFlight++;
    void this.run(batch.items)
      .then(
        () => batch.waiters.forEach((w) => w.resolve()),
        (err: unknown) => batch.waiters.forEach((w) => w.reject(err)),
      )
      .finally(() => {
        this.inFlight--;
        this.schedule();
      });
  }
}
