import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { ImError } from '../lib/errors.ts';
import { refuseUpgrade } from './handshake.ts';

/** What refuseUpgrade writes to the socket, as text. */
async function refusalOf(err: unknown): Promise<string> {
  const socket = new PassThrough();
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((r) => socket.on('end', r));
  refuseUpgrade(socket, err);
  await ended;
  return Buffer.concat(chunks).toString();
}

describe('refuseUpgrade', () => {
  it('answers an overloaded gateway with 503, Retry-After in seconds and the hint in ms in the body', async () => {
    const text = await refusalOf(
      new ImError('UNAVAILABLE', 'server busy (connect): retry in 1200 ms', { retryAfterMs: 1200 }),
    );
    const [head, body] = text.split('\r\n\r\n') as [string, string];
    assert.match(head, /^HTTP\/1.1 503 UNAVAILABLE\r\n/);
    assert.match(head, /\r\nRetry-After: 2(\r\n|$)/);
    assert.deepEqual(JSON.parse(body), {
      code: 'UNAVAILABLE',
      message: 'server busy (connect): retry in 1200 ms',
      retryAfterMs: 1200,
    });
  });

  it('gives no retry hint where there is none to give', async () => {
    const text = await refusalOf(new ImError('UNAUTHORIZED', 'missing token'));
    assert.match(text, /^HTTP\/1.1 401 UNAUTHORIZED\r\n/);
    assert.doesNotMatch(text, /Retry-After/);
    assert.deepEqual(JSON.parse(text.split('\r\n\r\n')[1]!), { code: 'UNAUTHORIZED', message: 'missing token' });
  });
});
