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
