import WebSocket from 'ws';
import { ServerFrame } from '../../proto/gen/im/v1/client.pb.ts';

/** A WebSocket the fuzzer sends raw bytes on, keeping what the server answers and how it closed. */
export class FuzzSocket {
  readonly frames: ServerFrame[] = [];
  /** Server frames the client could not decode: the server wrote something broken. */
  undecodable = 0;
  closed: { code: number; reason: string } | undefined;
  /** A socket error (a reset, a refused connection): not a clean close. */
  error: string | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      try {
        this.frames.push(ServerFrame.decode(data));
      } catch {
        this.undecodable++;
      }
    });
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    ws.on('error', (err) => (this.error ??= err.message));
  }

  /** Opens a connection; rejects with the HTTP status when the handshake is refused, or after 5 s. */
  static open(url: string, token: string): Promise<FuzzSocket> {
    const ws = new WebSocket(`${url}/v1/ws`, {
      headers: { authorization: `Bearer ${token}` },
      handshakeTimeout: 5_000,
    });
    const socket = new FuzzSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(socket));
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        reject(new Error(`handshake refused: ${res.statusCode}`));
      });
      ws.once('error', reject);
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(bytes: Uint8Array): void {
    if (this.isOpen) this.ws.send(bytes, { binary: true });
  }

  /** The first frame `pick` takes, waiting up to `ms`; undefined if none came. */
  async next<T>(pick: (f: ServerFrame) => T | undefined, ms = 5_000): Promise<T | undefined> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      for (const f of this.frames) {
        const hit = pick(f);
        if (hit !== undefined) return hit;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    return undefined;
  }

  /** Resolves once closed (by either side), or after `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.closed === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return this.closed !== undefined;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close();
  }
}
