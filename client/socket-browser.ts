import type { ClientSocket, SocketHandlers } from './client-socket.ts';

/**
 * A page's own WebSocket. A page cannot set headers, so the token goes as the subprotocol `im.bearer.<token>` beside
 * `im.v1` (the server answers `im.v1`, never the token).
 */
export function openBrowserSocket(url: URL, token: string, on: SocketHandlers): ClientSocket {
  const ws = new WebSocket(url, ['im.v1', `im.bearer.${token}`]);
  ws.binaryType = 'arraybuffer';
  ws.onerror = () => on.error('the connection failed');
  ws.onmessage = (e) => {
    if (e.data instanceof ArrayBuffer) on.message(new Uint8Array(e.data));
  };
  ws.onclose = (e) => on.close(e.code, e.reason);
  return {
    get open() {
      return ws.readyState === WebSocket.OPEN;
    },
    get closed() {
      return ws.readyState === WebSocket.CLOSED;
    },
    send: (frame) => ws.send(frame),
    close: (code, reason) => ws.close(code, reason),
    // A page has no way to drop a socket without the closing handshake: close is the nearest.
    terminate: () => ws.close(),
  };
}
