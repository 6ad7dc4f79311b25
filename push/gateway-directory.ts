import type { Closeable } from '../lib/lifecycle.ts';
import type { GatewayRegistry } from './gateway-registry.ts';
import type { GatewayApi } from '../gateway/api.ts';

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

/**
 * Cluster mode: gateway nodes from the registry, each reached through a client made once per address. A node
 * that left the registry (it stopped, or died and its entry expired) gets no more deliveries.
 */
export class RegistryGatewayDirectory implements GatewayDirectory, Closeable {
  private readonly clients = new Map<string, { address: string; api: GatewayApi & Closeable }>();

  constructor(
    private readonly registry: GatewayRegistry,
    private readonly connect: (grpcAddress: string) => GatewayApi & Closeable,
  ) {}

  async get(node: string): Promise<GatewayApi | undefined> {
    const entry = await this.registry.get(node);
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
