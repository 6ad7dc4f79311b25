import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SyncResponse } from '../proto/gen/im/v1/client.pb.ts';
import { Message } from '../proto/gen/im/v1/message.pb.ts';
import type { GetDiffRequest } from '../proto/gen/im/v1/services.pb.ts';
import { generateSigningKey, keysOf, publicJwk } from '../lib/token-keys.ts';
import { tokenSigner, tokenVerifier } from '../lib/token.ts';
import { syncHttpHandler } from './http.ts';

/** What the stub answers to sync_key "ops": a tombstone, the recall that made it, an edit and a read marker. */
const OPS: Message[] = [
  Message.fromPartial({ seq: 1, contentType: 'text/plain', recalled: true }),
  Message.fromPartial({
    seq: 2,
    contentType: 'text/plain',
    op: { kind: { $case: 'recall', value: { fromDevice: 'pc', clientMsgId: 'c1', serverMsgId: 's1' } } },
  }),
  Message.fromPartial({
    seq: 3,
    contentType: 'text/plain',
    body: Buffer.from('fixed'),
    op: { kind: { $case: 'edit', value: { fromDevice: 'pc', clientMsgId: 'c2', serverMsgId: 's2' } } },
  }),
  Message.fromPartial({
    seq: 4,
    op: { kind: { $case: 'read', value: { conversation: 'dm:alice:bob', seq: 3, stream: '', unread: 0 } } },
  }),
];

describe('POST /v1/sync: what it answers, to good requests and bad', () => {
  let server: Server;
  let url: string;
  let token: string;
  const asked: GetDiffRequest[] = [];

  before(async () => {
    const key = generateSigningKey();
    const verify = tokenVerifier(keysOf({ keys: [publicJwk(key)] }));
    token = tokenSigner(key).sign('alice', 'phone', 60);
    const getDiff = (r: GetDiffRequest) => {
      asked.push(r);
      return Promise.resolve(SyncResponse.fromPartial({ syncKey: 'next', messages: r.syncKey === 'ops' ? OPS : [] }));
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

  it('marks tombstones recalled: true and names each operation with its target, in JSON', async () => {
    const res = await post('{"sync_key":"ops"}');
    assert.equal(res.status, 200);
    const { messages } = (await res.json()) as { messages: Record<string, unknown>[] };
    const target = (n: number) => ({ from_device: 'pc', client_msg_id: `c${n}`, server_msg_id: `s${n}` });
    assert.deepEqual(
      messages.map(({ seq, op, target, recalled, text }) => ({ seq, op, target, recalled, text })),
      [
        { seq: 1, op: undefined, target: undefined, recalled: true, text: '' },
        { seq: 2, op: 'recall', target: target(1), recalled: undefined, text: '' },
        { seq: 3, op: 'edit', target: target(2), recalled: undefined, text: 'fixed' },
        { seq: 4, op: 'read', target: undefined, recalled: undefined, text: undefined },
      ],
    );
    assert.ok(
      messages.slice(1).every((m) => !('recalled' in m)),
      'recalled is omitted unless true',
    );
    assert.deepEqual(
      { read_seq: messages[3]?.read_seq, read_stream: messages[3]?.read_stream, unread: messages[3]?.unread },
      { read_seq: 3, read_stream: 'inbox', unread: 0 },
    );
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
