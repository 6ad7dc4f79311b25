/** Something started that must be stopped: a service, a server, a subscription. */
export interface Closeable {
  close(): Promise<void>;
}

/** Closes in reverse order of start, and keeps closing when one fails; rethrows the first failure. */
export async function closeAll(items: readonly Closeable[]): Promise<void> {
  let first: Error | undefined;
  for (const item of [...items].reverse()) {
    try {
      await item.close();
    } catch (err) {
      first ??= err instanceof Error ? err : new Error(String(err));
    }
  }
  if (first !== undefined) throw first;
}
