import type { GatewayEntry, GatewayRegistry } from './gateway-registry.ts';

export class MemoryGatewayRegistry implements GatewayRegistry {
  private readonly entries = new Map<string, { entry: GatewayEntry; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  register(entry: GatewayEntry, ttlMs: number): Promise<void> {
    this.entries.set(entry.node, { entry: { ...entry }, expiresAt: this.now() + ttlMs });
    return Promise.resolve();
  }

  unregister(node: string): Promise<void> {
    this.entries.delete(node);
    return Promise.resolve();
  }

  list(): Promise<GatewayEntry[]> {
    const now = this.now();
    const live: GatewayEntry[] = [];
    for (const [node, { entry, expiresAt }] of this.entries) {
      if (expiresAt <= now) this.entries.delete(node);
      else live.push({ ...entry });
    }
    return Promise.resolve(live);
  }

  get(node: string): Promise<GatewayEntry | undefined> {
    const stored = this.entries.get(node);
    if (stored && stored.expiresAt <= this.now()) {
      this.entries.delete(node);
      return Promise.resolve(undefined);
    }
    return Promise.resolve(stored && { ...stored.entry });
  }
}
