import WebSocket from 'ws';
import { ClientFrame, ServerFrame } from '../../proto/gen/im/v1/client.pb.ts';

/** A bare WebSocket speaking frames by hand, for input the SDK would never send. */
export class RawSocket {
  readonly frames: ServerFrame[] = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => this.frames.push(ServerFrame.decode(data)));
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    ws.on('error', () => undefined);
  }

  /** `query`: the upgrade's options, e.g. `catch_up=0`. */
  static open(url: string, token: string, query = ''): Promise<RawSocket> {
    const ws = new WebSocket(`${url}/v1/ws${query ? `?${query}` : ''}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const raw = new RawSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(raw));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(Object.assign(new Error(body), { status: res.statusCode, body })));
      });
      ws.once('error', reject);
    });
  }

  send(frame: ClientFrame): void {
    this.ws.send(ClientFrame.encode(frame).finish());
  }

  /** The next frame matching `pick` (waits up to 5 s). */
  async next<T>(pick: (f: ServerFrame) => T | undefined): Promise<T> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      for (const f of this.frames) {
        const hit = pick(f);
        if (hit !== undefined) {
          this.frames.splice(this.frames.indexOf(f), 1);
          return hit;
        }
      }
      if (Date.now() > deadline)
        throw new Error(`no matching frame; got ${JSON.stringify(this.frames.map((f) => f.body?.$case))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** The next error frame; `retryAfterMs` only when the server gave a retry hint. */
  error(): Promise<{ code: string; message: string; requestId: number; retryAfterMs?: number }> {
    return this.next((f) => {
      if (f.body?.$case !== 'error') return undefined;
      const { code, message, retryAfterMs } = f.body.value;
      return { code, message, requestId: f.requestId, ...(retryAfterMs > 0 ? { retryAfterMs } : {}) };
    });
  }
}
