import { openBrowserSocket } from './socket-browser.ts';
import { openNodeSocket } from './socket-node.ts';
import type { OpenSocket } from './client-socket.ts';

export type { ClientSocket, OpenSocket, SocketHandlers } from './client-socket.ts';

/** A browser's own WebSocket in a page, the `ws` package in Node. */
export const openSocket: OpenSocket = (url, token, handlers) =>
  'document' in globalThis ? openBrowserSocket(url, token, handlers) : openNodeSocket(url, token, handlers);
