import type { Closeable } from '../lib/lifecycle.ts';
import { LRUCache } from 'lru-cache';
import type { GatewayEntry, GatewayRegistry } from './gateway-registry.ts';
import type { GatewayApi } from '../lib/gateway-api.ts';

/** Finds the gateway node that holds a connection (port): a map in embedded mode, the Redis registry in cluster mode. */
export interface GatewayDirectory {
  get(node: string): Promise<GatewayApi | undefined>;
  /** Every live node (a large group's message goes to each once). */
  nodes(): Promise<string[]>;
}

export class StaticGatewayDirectory implements GatewayDirectory {
  private readonly apis = new Map<string, GatewayApi>();

  set(node: string, api: GatewayApi): void {
    this.apis.set(node, api);
  }

  delete(node: string): void {
    this.apis.delete(node);
  }

  get(node: string): Promise<GatewayApi | undefined> {
    return Promise.resolve(this.apis.get(node));
  }

  nodes(): Promise<string[]> {
    return Promise.resolve([...this.apis.keys()]);
  }
}

export interface RegistryGatewayDirectoryOptions {
  /** How long an entry read from the registry is used. Default 1 s. */
  freshMs?: number;
}

/**
 * Cluster mode: gateway nodes from the registry, each reached through a client made once per address. A node
 * that left the registry (it stopped, or died and its entry expired) gets no more deliveries once its entry here
 * is older than `freshMs`: every delivery used to read the registry again, a Redis round trip per gateway per
 * batch, for an entry that changes when a gateway restarts. A delivery to a node that just died fails, and its
 * recipients sync, as they would if it died a moment later.
 */
export class RegistryGatewayDirectory implements GatewayDirectory, Closeable {
  private readonly clients = new Map<string, { address: string; api: GatewayApi & Closeable }>();
  private readonly entries: LRUCache<string, { entry: GatewayEntry | undefined }>;

  constructor(
    private readonly registry: GatewayRegistry,
    private readonly connect: (grpcAddress: string) => GatewayApi & Closeable,
    options: RegistryGatewayDirectoryOptions = {},
  ) {
    this.entries = new LRUCache({
      max: 1_024,
      ttl: options.freshMs ?? 1_000,
      fetchMethod: async (node) => ({ entry: await registry.get(node) }),
    });
  }

  async get(node: string): Promise<GatewayApi | undefined> {
    const entry = (await this.entries.fetch(node))?.entry;
    const cached = this.clients.get(node);
    if (!entry) return undefined;
    if (cached?.address === entry.grpcAddress) return cached.api;
    if (cached) void cached.api.close();
    const api = this.connect(entry.grpcAddress);
    this.clients.set(node, { address: entry.grpcAddress, api });
    return api;
  }

  async nodes(): Promise<string[]> {
    return (await this.registry.list()).map((e) => e.node);
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.api.close()));
    this.clients.clear();
  }
}
