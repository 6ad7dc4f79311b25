import type { Closeable } from '../lib/lifecycle.ts';
import type { GatewayRegistry } from './gateway-registry.ts';
import type { GatewayApi } from '../gateway/api.ts';

/** Finds the gateway node that holds a connection (port): a map in embedded mode, the Redis registry in cluster mode. */
export interface GatewayDirectory {
  get(node: string): Promise<GatewayApi | undefined>;
}

export class StaticGatewayDirectory implements GatewayDirectory {
  private readonly nodes = new Map<string, GatewayApi>();

  set(node: string, api: GatewayApi): void {
    this.nodes.set(node, api);
  }

  delete(node: string): void {
    this.nodes.delete(node);
  }

  get(node: string): Promise<GatewayApi | undefined> {
    return Promise.resolve(this.nodes.get(node));
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

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.api.close()));
    this.clients.clear();
  }
}
