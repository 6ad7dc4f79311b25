const ignore = (): void => undefined;

/**
 * Runs tasks one at a time per key, each after the key's previous task settled (resolved or not), and tasks of
 * different keys concurrently. Holds only keys with a task pending.
 */
export class PerKeySerial {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    const result = previous ? previous.then(task) : task();
    const tail = result.then(ignore, ignore);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a task pending (tests). */
  get size(): number {
    return this.tails.size;
  }
}
