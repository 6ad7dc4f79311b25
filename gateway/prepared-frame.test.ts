import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { prepareFrame, rawSocketOf } from './prepared-frame.ts';

describe('prepareFrame', () => {
  it('frames payloads of every length encoding so a ws client reads them back unchanged, in order', async () => {
    // 7-bit, 16-bit and 64-bit lengths, and the edges between them.
    const payloads = [0, 1, 125, 126, 65_535, 65_536, 200_000].map((n) =>
      Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + n) % 251)),
    );
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await once(wss, 'listening');
    try {
      wss.on('connection', (ws) => {
        const socket = rawSocketOf(ws);
        assert.ok(socket, 'an idle ws connection can take raw writes');
        ws.send(Buffer.from('through ws first'));
        for (const p of payloads) socket.write(prepareFrame(p));
      });
      const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
      const got: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        client.on('message', (data: Buffer) => {
          got.push(data);
          if (got.length === payloads.length + 1) resolve();
        });
        client.on('error', reject);
      });
      client.close();
      assert.equal(got[0]!.toString(), 'through ws first');
      assert.deepEqual(
        got.slice(1).map((b) => b.length),
        payloads.map((p) => p.length),
      );
      got.slice(1).forEach((b, i) => assert.ok(b.equals(payloads[i]!), `payload ${i} unchanged`));
    } finally {
      for (const c of wss.clients) c.terminate();
      wss.close();
    }
  });
});
