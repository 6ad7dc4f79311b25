/** Where one device of a user is connected right now. */
export interface Route {
  user: string;
  device: string;
  /** Gateway node id. */
  node: string;
  connId: string;
  /** When the connection came up (ms): an older event never replaces a newer route. */
  atMs: number;
}

export type RouteRef = Pick<Route, 'user' | 'device' | 'connId'>;

/**
 * The route table (port): user -> device -> route.
 *
 * - `put` sets a device's route unless the stored one is newer (by `atMs`); it expires after `ttlMs` unless
 *   refreshed, so the routes of a gateway that died disappear by themselves.
 * - `remove` and `refresh` act only on a route that still names the given connection: a late offline event of an
 *   old connection never removes the route of the device's new one.
 * - `lookup` returns the live routes of each user asked for (users with none are absent).
 */
export interface RouteTable {
  put(route: Route, ttlMs: number): Promise<void>;
  remove(ref: RouteRef): Promise<void>;
  refresh(refs: readonly RouteRef[], ttlMs: number): Promise<void>;
  lookup(users: readonly string[]): Promise<Map<string, Route[]>>;
}
