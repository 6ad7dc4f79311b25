import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import sodium from 'libsodium-wrappers';
import { SyncResponse } from '../proto/gen/im/v1/client.pb.ts';
import type { GetDiffRequest } from '../proto/gen/im/v1/services.pb.ts';
import { tokenSigner, tokenVerifier } from '../lib/token.ts';
import { syncHttpHandler } from './http.ts';

describe('POST /v1/sync: what it answers to bad requests', () => {
  let server: Server;
  let url: string;
  let token: string;
  const asked: GetDiffRequest[] = [];

  before(async () => {
    const seed = randomBytes(32);
    await sodium.ready;
    const verify = await tokenVerifier(sodium.crypto_sign_seed_keypair(seed).publicKey);
    token = (await tokenSigner(seed)).sign('alice', 'phone', 60);
    const getDiff = (r: GetDiffRequest) => {
      asked.push(r);
      return Promise.resolve(SyncResponse.fromPartial({ syncKey: 'next' }));
    };
    const handle = syncHttpHandler({ getDiff }, verify);
    server = createServer((req, res) => {
      if (!handle(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/sync`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  // A request the server neither answers nor closes fails here within seconds instead of hanging the run.
  const post = (body: string | Buffer | ReadableStream<Uint8Array>) =>
    fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body,
      signal: AbortSignal.timeout(5_000),
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    });
  const refusal = async (res: Response) => ({ status: res.status, ...((await res.json()) as { code: string }) });

  it('serves a JSON body with the token’s user and device', async () => {
    const res = await post('{"sync_key":"k","limit":5}');
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { sync_key: string }).sync_key, 'next');
    assert.deepEqual(asked.at(-1), { user: 'alice', device: 'phone', syncKey: 'k', limit: 5 });
  });

  it('answers a 200 KB body with 413 TOO_LARGE in JSON instead of resetting the connection', async () => {
    const res = await post(Buffer.alloc(200 * 1024, 0x20));
    assert.equal(res.status, 413);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('connection'), 'close');
    const body = (await res.json()) as { code: string; message: string };
    assert.equal(body.code, 'TOO_LARGE');
    assert.match(body.message, /131072 bytes/);
  });

  it('answers 413 to a chunked body that grows past the limit, without waiting for its end', async () => {
    let pulls = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new Uint8Array(16 * 1024).fill(0x20));
      },
    });
    const res = await post(endless);
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { code: string }).code, 'TOO_LARGE');
    assert.ok(pulls < 10_000, `the client was made to send ${pulls} chunks`);
  });

  it('answers other methods with 405 and Allow: POST', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await fetch(url, { method, headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'POST');
      assert.equal(((await res.json()) as { code: string }).code, 'METHOD_NOT_ALLOWED');
    }
  });

  it('answers a JSON body that is not an object with 400', async () => {
    for (const body of ['[]', 'null', '3', '"x"', 'true', '[{"limit":1}]']) {
      assert.deepEqual(await refusal(await post(body)), {
        status: 400,
        code: 'INVALID_ARGUMENT',
        message: 'body must be a JSON object',
      });
    }
  });

  it('answers unknown and ill-typed fields with 400 naming the field, quoting at most 40 characters', async () => {
    assert.deepEqual(await refusal(await post('{"limit":"9"}')), {
      status: 400,
      code: 'INVALID_ARGUMENT',
      message: 'limit must be a non-negative integer',
    });
    assert.deepEqual(await refusal(await post('{"sync_key":1}')), {
      status: 400,
      code: 'INVALID_ARGUMENT',
      message: 'sync_key must be a string',
    });
    assert.deepEqual(await refusal(await post('{"synckey":"k"}')), {
      status: 400,
      code: 'INVALID_ARGUMENT',
      message: 'unknown field "synckey" (fields: sync_key, limit)',
    });
    const long = await refusal(await post(JSON.stringify({ ['k'.repeat(100_000)]: 1 })));
    assert.equal(long.status, 400);
    assert.ok(JSON.stringify(long).length < 200, JSON.stringify(long).slice(0, 300));
  });
});
