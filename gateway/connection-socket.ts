import { WebSocket } from 'ws';
import type { Connection } from './connection.ts';

/**
 * The WebSocket class the gateway's server makes (ws's `WebSocket` option): it carries its Connection, so one set
 * of event handlers serves every connection (`this.connection`) instead of three closures per connection, which
 * idle memory per connection pays for.
 */
export class ConnectionSocket extends WebSocket {
  connection: Connection | undefined = undefined;
}
