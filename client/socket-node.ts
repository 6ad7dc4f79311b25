import WebSocket from 'ws';
import type { ClientSocket, SocketHandlers } from './client-socket.ts';

/** A connection through the `ws` package: the token in the Authorization header. */
export function openNodeSocket(url: URL, token: string, on: SocketHandlers): ClientSocket {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
  ws.once('unexpected-response', (_req, res) => {
    let text = '';
    res.on('data', (c: Buffer) => (text += c.toString()));
    res.on('end', () => on.refused(res.statusCode ?? 0, text));
  });
  ws.once('error', (err) => on.error(err.message, err));
  ws.on('message', (data: Buffer) => on.message(data));
  ws.once('close', (code, reason) => on.close(code, reason.toString()));
  return {
    get open() {
      return ws.readyState === WebSocket.OPEN;
    },
    get closed() {
      return ws.readyState === WebSocket.CLOSED;
    },
    send: (frame) => ws.send(frame),
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
  };
}
