/** One gateway node as the other services reach it. */
export interface GatewayEntry {
  node: string;
  /** host:port of its GatewayService (gRPC). */
  grpcAddress: string;
  /** Where clients connect (ws:// or wss://). */
  wsUrl: string;
}

/**
 * The live gateway nodes (port). A gateway registers itself and repeats `register` as its heartbeat; an entry
 * that is not registered again within `ttlMs` disappears by itself, so a gateway that died leaves the list.
 *
 * - `register` adds or replaces the node's entry (addresses may change across restarts) and extends its life.
 * - `unregister` removes it at once (graceful shutdown).
 * - `list` and `get` return live entries only.
 */
export interface GatewayRegistry {
  register(entry: GatewayEntry, ttlMs: number): Promise<void>;
  unregister(node: string): Promise<void>;
  list(): Promise<GatewayEntry[]>;
  get(node: string): Promise<GatewayEntry | undefined>;
}
