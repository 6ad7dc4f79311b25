import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Embedded } from '../../app/embedded.ts';
import { ImClient } from '../../client/sdk.ts';
import { devSigningKey, loadOrCreateDevKey, type DevKey } from '../../lib/dev-key.ts';
import { generateSigningKey } from '../../lib/token-keys.ts';
import { SignJWT } from 'jose';
import { tokenSigner } from '../../lib/token.ts';
import WebSocket from 'ws';
import { connect, eventually, sleep, startServer, type Target } from './harness.ts';
import { RawSocket } from './raw-socket.ts';

describe('hostile and broken input gets a clear answer, never a crash', () => {
  let server: Embedded & Target;
  before(async () => {
    server = await startServer({ maxFrameBytes: 4096, hardMaxFrameBytes: 64 * 1024, rateLimitFrames: 30 });
  });
  after(() => server.close());

  const raw = (user: string) => RawSocket.open(server.gateway.url, server.token(user, 'd1'));

  it('answers a text frame, a malformed frame and an empty frame with BAD_FRAME, and keeps the connection', async () => {
    const s = await raw('bad1');
    s.ws.send('{"hello":"json"}');
    assert.equal((await s.error()).code, 'BAD_FRAME');
    s.ws.send(Buffer.from([0x0a, 0xff, 0xff, 0xff]));
    assert.equal((await s.error()).code, 'BAD_FRAME');
    s.send({ requestId: 7, body: undefined });
    assert.deepEqual(await s.error(), { code: 'BAD_FRAME', message: 'frame has no body', requestId: 7 });
    s.send({ requestId: 8, body: { $case: 'ping', value: { clientTimeMs: 1 } } });
    assert.equal(await s.next((f) => (f.body?.$case === 'pong' ? f.requestId : undefined)), 8);
    s.ws.close();
  });

  it('answers an oversized frame with TOO_LARGE and closes on one past the hard limit (1009)', async () => {
    const s = await raw('bad2');
    s.ws.send(randomBytes(5000));
    const err = await s.error();
    assert.equal(err.code, 'TOO_LARGE');
    assert.match(err.message, /limit is 4096/);
    s.ws.send(randomBytes(70 * 1024));
    await eventually(() => s.closed !== undefined, 'close after a huge frame');
    assert.equal(s.closed?.code, 1009);
  });

  it('refuses a missing, wrong, foreign-signed or expired token at the handshake with the reason', async () => {
    const refused = async (token: string) => {
      const err = (await RawSocket.open(server.gateway.url, token).then(
        () => assert.fail('connection was accepted'),
        (e: unknown) => e,
      )) as { status: number; body: string };
      return { status: err.status, code: (JSON.parse(err.body) as { code: string }).code };
    };
    assert.deepEqual(await refused(''), { status: 401, code: 'UNAUTHORIZED' });
    assert.deepEqual(await refused('not-a-token'), { status: 401, code: 'UNAUTHORIZED' });
    const stranger = tokenSigner(generateSigningKey());
    assert.deepEqual(await refused(stranger.sign('bad3', 'd1', 60)), { status: 401, code: 'UNAUTHORIZED' });
    assert.deepEqual(await refused(server.token('bad3', 'd1', -120)), { status: 401, code: 'TOKEN_EXPIRED' });
    const sdk = new ImClient({ url: server.gateway.url, token: server.token('bad3', 'd1', -120), reconnect: false });
    await assert.rejects(sdk.connect(), { code: 'TOKEN_EXPIRED', message: 'token expired' });
  });

  it('refuses a garbled sync_key and another user’s key with BAD_SYNC_KEY', async () => {
    const s = await raw('bad4');
    s.send({ requestId: 1, body: { $case: 'sync', value: { syncKey: '!!garbage!!', limit: 10 } } });
    assert.equal((await s.error()).code, 'BAD_SYNC_KEY');
    s.send({ requestId: 2, body: { $case: 'sync', value: { syncKey: 'AAAA', limit: 10 } } });
    assert.equal((await s.error()).code, 'BAD_SYNC_KEY');
    const other = await connect(server, 'bad4-other', 'd1');
    s.send({ requestId: 3, body: { $case: 'sync', value: { syncKey: other.client.state.syncKey, limit: 10 } } });
    assert.deepEqual(await s.error(), {
      code: 'BAD_SYNC_KEY',
      message: 'sync_key belongs to another user',
      requestId: 3,
    });
    await other.client.close();
    s.ws.close();
  });

  it('rejects bad sends with a reason: no recipient, bad ids, empty and oversized bodies', async () => {
    const s = await raw('bad5');
    const send = (requestId: number, value: object) =>
      s.send({
        requestId,
        body: {
          $case: 'send',
          value: { clientMsgId: `c${requestId}`, contentType: '', body: Buffer.from('x'), ...value },
        },
      });
    send(1, {});
    assert.equal((await s.error()).code, 'INVALID_ARGUMENT');
    send(2, { to: { kind: { $case: 'user', value: 'has space' } } });
    assert.equal((await s.error()).code, 'INVALID_ARGUMENT');
    send(3, { to: { kind: { $case: 'user', value: 'bob' } }, body: Buffer.alloc(0) });
    assert.deepEqual(await s.error(), { code: 'INVALID_ARGUMENT', message: 'message body is empty', requestId: 3 });
    send(4, { to: { kind: { $case: 'user', value: 'bob' } }, clientMsgId: '' });
    assert.equal((await s.error()).code, 'INVALID_ARGUMENT');
    s.ws.close();
    const big = await startServer({ maxBodyBytes: 100 });
    const s2 = await RawSocket.open(big.gateway.url, big.token('bad5', 'd1'));
    s2.send({
      requestId: 5,
      body: {
        $case: 'send',
        value: {
          clientMsgId: 'c5',
          to: { kind: { $case: 'user', value: 'bob' } },
          contentType: '',
          body: Buffer.alloc(101, 1),
        },
      },
    });
    assert.equal((await s2.error()).code, 'TOO_LARGE');
    s2.ws.close();
    await big.close();
  });

  it('answers a flood with RATE_LIMITED', async () => {
    const s = await raw('bad6');
    for (let i = 1; i <= 40; i++) s.send({ requestId: i, body: { $case: 'ping', value: { clientTimeMs: i } } });
    assert.equal((await s.error()).code, 'RATE_LIMITED');
    s.ws.close();
  });
});

describe('an overloaded gateway answers at once with a retry hint instead of queueing without bound', () => {
  it('refuses the syncs that would wait too long with UNAVAILABLE and retry_after_ms, and serves the rest', async () => {
    // The user's own bound (IM_MAX_SYNCS_PER_USER) is opened up: this is about the node's.
    const server = await startServer({ syncConcurrency: 1, admissionMaxWaitMs: 1, maxSyncsPerUser: 10 });
    const s = await RawSocket.open(server.gateway.url, server.token('busy1', 'd1'));
    for (let i = 1; i <= 10; i++) s.send({ requestId: i, body: { $case: 'sync', value: { syncKey: '', limit: 10 } } });
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        s.next((f) => (f.requestId === i + 1 ? (f.body?.$case === 'error' ? f.body.value : f.body?.$case) : undefined)),
      ),
    );
    const served = answers.filter((a) => a === 'sync').length;
    const refused = answers.filter((a) => typeof a === 'object');
    assert.ok(served >= 1 && refused.length >= 1, `served ${served}, refused ${refused.length}`);
    assert.equal(served + refused.length, 10);
    for (const r of refused) {
      assert.equal(r.code, 'UNAVAILABLE');
      assert.ok(r.retryAfterMs >= 250, `hint ${r.retryAfterMs} ms`);
      assert.match(r.message, /server busy/);
    }
    s.ws.close();
    await server.close();
  });
});

describe('connections that misbehave are cut off; others carry on', () => {
  it('disconnects a client that stops reading while others keep receiving', async () => {
    const server = await startServer({
      maxBufferedBytes: 1024 * 1024,
      rateLimitFrames: 10_000,
      rateLimitBytes: 64 * 1024 * 1024,
      maxFrameBytes: 64 * 1024,
    });
    const sender = await connect(server, 'slow-sender', 'pc');
    const healthy = await connect(server, 'healthy', 'pc');
    const slow = await RawSocket.open(server.gateway.url, server.token('slow', 'pc'));
    await slow.next((f) => (f.body?.$case === 'authResult' ? true : undefined));
    const group = await sender.client.createGroup('load', ['healthy', 'slow']);
    await eventually(() => server.gateway.connectionCount() === 3, 'three connections');
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const body = randomBytes(24 * 1024)
      .toString('base64')
      .slice(0, 30_000);
    // 12 MB in batches a reading client keeps up with; the paused client cannot, so its queue fills.
    const count = 400;
    for (let batch = 0; batch < count; batch += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          sender.client.send({ group: group.groupId }, { text: `${batch + i}:${body}` }),
        ),
      );
    }
    await eventually(() => healthy.messages.length === count, 'healthy client receives everything', 30_000);
    await eventually(() => server.gateway.connectionCount() === 2, 'slow client cut off', 10_000);
    assert.deepEqual(
      healthy.messages.map((m) => Number(Buffer.from(m.body).toString().split(':')[0])),
      Array.from({ length: count }, (_, i) => i),
    );
    await sender.client.close();
    await healthy.client.close();
    await server.close();
  });

  it('closes a connection that stays silent past the heartbeat timeout', async () => {
    const server = await startServer({ heartbeatTimeoutMs: 300, heartbeatIntervalMs: 100 });
    const s = await RawSocket.open(server.gateway.url, server.token('quiet', 'pc'));
    await eventually(() => s.closed !== undefined, 'heartbeat timeout', 5_000);
    assert.deepEqual(s.closed, { code: 4000, reason: 'heartbeat timeout' });
    await server.close();
  });

  it('asks clients to reconnect when it shuts down, then drains', async () => {
    const server = await startServer();
    const s = await RawSocket.open(server.gateway.url, server.token('drained', 'pc'));
    const closing = server.close();
    const reconnect = await s.next((f) => (f.body?.$case === 'reconnect' ? f.body.value : undefined));
    assert.equal(reconnect.reason, 'server shutting down');
    s.ws.close();
    await closing;
    assert.equal(server.gateway.connectionCount(), 0);
  });
});

describe('inputs are validated, and errors never echo them whole', () => {
  let server: Embedded & Target;
  let key: DevKey;
  before(async () => {
    server = await startServer({ maxFrameBytes: 128 * 1024 });
    key = await loadOrCreateDevKey();
  });
  after(() => server.close());

  /** A token signed with the server's key over claims its signer would refuse to sign. */
  const forged = (sub: string, dev = 'd1') => {
    const now = Math.floor(Date.now() / 1000);
    const signing = devSigningKey(key);
    return new SignJWT({ iss: 'im-dev', aud: 'im', sub, dev, iat: now, exp: now + 60 })
      .setProtectedHeader({ alg: signing.alg, kid: signing.kid })
      .sign(signing.privateKey);
  };
  const syncUrl = () => `${server.gateway.url.replace(/^ws/, 'http')}/v1/sync`;

  it('refuses a token whose user or device id is "a:b", empty or 100 characters at the handshake with 401', async () => {
    const refused = async (token: string) => {
      const err = (await RawSocket.open(server.gateway.url, token).then(
        () => assert.fail('connection was accepted'),
        (e: unknown) => e,
      )) as { status: number; body: string };
      const { code, message } = JSON.parse(err.body) as { code: string; message: string };
      assert.ok(message.length < 200, message.slice(0, 300));
      return { status: err.status, code };
    };
    for (const id of ['a:b', '', 'x'.repeat(100)]) {
      assert.deepEqual(await refused(await forged(id)), { status: 401, code: 'UNAUTHORIZED' }, `sub ${id}`);
      assert.deepEqual(await refused(await forged('val0', id)), { status: 401, code: 'UNAUTHORIZED' }, `dev ${id}`);
    }
    assert.throws(() => server.token('a:b', 'd1'), { code: 'INVALID_ARGUMENT' });
  });

  it('refuses a group named "", "   ", "a\\u0000b" or 1,000 characters with INVALID_ARGUMENT naming the field', async () => {
    const { client } = await connect(server, 'val1', 'd1');
    for (const name of ['', '   ', 'a\u0000b', 'a\u202eb', 'x'.repeat(1000)]) {
      await assert.rejects(client.createGroup(name, ['val2']), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'INVALID_ARGUMENT', JSON.stringify(name).slice(0, 50));
        assert.match(err.message, /^group name /);
        assert.ok(err.message.length < 200, err.message.slice(0, 300));
        return true;
      });
    }
    assert.equal((await client.createGroup('  team  ', ['val2'])).name, 'team');
    assert.equal((await client.createGroup('🎉'.repeat(128), ['val2'])).name, '🎉'.repeat(128));
    await client.close();
  });

  it('answers a send to a 60 KB user id with a short INVALID_ARGUMENT', async () => {
    const s = await RawSocket.open(server.gateway.url, server.token('val3', 'd1'));
    const to = 'x'.repeat(60_000);
    s.send({
      requestId: 1,
      body: {
        $case: 'send',
        value: {
          clientMsgId: 'c1',
          to: { kind: { $case: 'user', value: to } },
          contentType: '',
          body: Buffer.from('x'),
        },
      },
    });
    const err = await s.error();
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.ok(err.message.length < 200, `message is ${err.message.length} characters`);
    assert.match(err.message, /60000 characters/);
    s.send({ requestId: 2, body: { $case: 'groupMembers', value: { groupId: to, cursor: '', limit: 0 } } });
    const missing = await s.error();
    assert.equal(missing.code, 'NOT_FOUND');
    assert.ok(missing.message.length < 200, `message is ${missing.message.length} characters`);
    s.ws.close();
  });

  it('answers POST /v1/sync with 413 for a 200 KB body, 405 for GET, 400 for JSON that is not an object', async () => {
    const authorization = `Bearer ${server.token('val4', 'd1')}`;
    const big = await fetch(syncUrl(), {
      method: 'POST',
      headers: { authorization },
      body: Buffer.alloc(200 * 1024, 0x20),
    });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { code: string }).code, 'TOO_LARGE');
    const get = await fetch(syncUrl(), { headers: { authorization } });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal(((await get.json()) as { code: string }).code, 'METHOD_NOT_ALLOWED');
    for (const body of ['[]', 'null', '3', '"x"']) {
      const res = await fetch(syncUrl(), { method: 'POST', headers: { authorization }, body });
      assert.equal(res.status, 400, body);
      assert.equal(((await res.json()) as { code: string }).code, 'INVALID_ARGUMENT');
    }
  });
});

describe('every frame is charged, and a connection that keeps sending what it is refused is closed', () => {
  let server: Embedded & Target;
  before(async () => {
    server = await startServer({ rateLimitFrames: 50, rateLimitBytes: 256 * 1024 });
  });
  after(() => server.close());

  const replies = (s: RawSocket) => s.frames.filter((f) => f.body?.$case === 'error').length;

  it('closes a connection flooding text frames after a bounded number of answers (1008)', async () => {
    const s = await RawSocket.open(server.gateway.url, server.token('flood-text', 'd1'));
    await s.next((f) => (f.body?.$case === 'authResult' ? true : undefined));
    for (let i = 0; i < 20_000 && s.ws.readyState === s.ws.OPEN; i++) s.ws.send('x');
    await eventually(() => s.closed !== undefined, 'the flood is cut off');
    assert.deepEqual(s.closed, { code: 1008, reason: 'too many refused frames' });
    assert.ok(replies(s) <= 51, `${replies(s)} error frames for 20,000 text frames`);
  });

  it('charges oversized frames by their bytes and closes a connection that keeps sending them', async () => {
    const s = await RawSocket.open(server.gateway.url, server.token('flood-big', 'd1'));
    await s.next((f) => (f.body?.$case === 'authResult' ? true : undefined));
    const big = randomBytes(64 * 1024 + 10);
    for (let i = 0; i < 2_000 && s.ws.readyState === s.ws.OPEN; i++) s.ws.send(big);
    await eventually(() => s.closed !== undefined, 'the oversized flood is cut off', 20_000);
    assert.equal(s.closed?.code, 1008);
    assert.ok(replies(s) <= 51, `${replies(s)} error frames`);
  });

  it('answers only the first frame over the budget, with when the window ends, and serves the next window', async () => {
    const s = await RawSocket.open(server.gateway.url, server.token('flood-ping', 'd1'));
    for (let i = 1; i <= 60; i++) s.send({ requestId: i, body: { $case: 'ping', value: { clientTimeMs: i } } });
    const refused = await s.error();
    assert.equal(refused.code, 'RATE_LIMITED');
    assert.equal(refused.requestId, 51, 'the request id read without decoding the frame');
    assert.ok(refused.retryAfterMs! > 0 && refused.retryAfterMs! <= 1000, `hint ${refused.retryAfterMs}`);
    await sleep(refused.retryAfterMs! + 50);
    assert.equal(replies(s), 0, 'the nine after it got no answer');
    s.send({ requestId: 99, body: { $case: 'ping', value: { clientTimeMs: 99 } } });
    assert.equal(await s.next((f) => (f.body?.$case === 'pong' && f.requestId === 99 ? true : undefined)), true);
    assert.equal(s.closed, undefined);
    s.ws.close();
  });

  it('lets the SDK pace itself within the budget the server announces: 300 requests, none refused', async () => {
    const c = await connect(server, 'paced', 'd1');
    const errors: Error[] = [];
    c.client.on('error', (e) => errors.push(e));
    const groups = await Promise.all(Array.from({ length: 150 }, () => c.client.listGroups()));
    for (let i = 0; i < 150; i++) await c.client.send({ user: 'paced-peer' }, { text: `m${i}` });
    assert.equal(groups.length, 150);
    assert.deepEqual(errors, []);
    await c.client.close();
  });
});

describe('one user cannot take what others need', () => {
  let server: Embedded & Target;
  before(async () => {
    server = await startServer({ maxConnectionsPerUser: 3, maxSyncsPerUser: 2, httpSyncsPerUserPerSecond: 5 });
  });
  after(() => server.close());

  const httpSync = (user: string) =>
    fetch(`${server.gateway.url.replace(/^ws/, 'http')}/v1/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token(user, 'http')}`, 'content-type': 'application/json' },
      body: '{}',
    });

  it('answers HTTP syncs over the user’s rate with 429 and Retry-After, while a bystander syncs', async () => {
    const t0 = Date.now();
    const answers = await Promise.all(Array.from({ length: 400 }, () => httpSync('hog')));
    // 5 a second: a burst that a loaded machine spreads over more seconds gets 5 more for each second it spans.
    const allowed = 5 * (Math.ceil((Date.now() - t0) / 1000) + 1);
    const limited = answers.filter((r) => r.status === 429);
    assert.ok(limited.length >= Math.max(200, 400 - allowed), `${limited.length} of 400 refused (${allowed} allowed)`);
    assert.ok(answers.some((r) => r.status === 200));
    const first = limited[0]!;
    assert.ok(Number(first.headers.get('retry-after')) >= 1);
    assert.equal(((await first.json()) as { code: string }).code, 'RATE_LIMITED');
    const bystander = await connect(server, 'bystander', 'phone');
    await bystander.client.sync();
    assert.equal((await httpSync('bystander')).status, 200);
    await bystander.client.close();
  });

  it('refuses a connection past the user’s limit with 429, but lets a device replace its own', async () => {
    const held = await Promise.all(
      ['a', 'b', 'c'].map((d) => RawSocket.open(server.gateway.url, server.token('many', d))),
    );
    const refused = (await RawSocket.open(server.gateway.url, server.token('many', 'd')).then(
      () => assert.fail('a fourth device was let in'),
      (e: unknown) => e,
    )) as { status: number; body: string };
    assert.equal(refused.status, 429);
    assert.equal((JSON.parse(refused.body) as { code: string }).code, 'RATE_LIMITED');
    const again = await RawSocket.open(server.gateway.url, server.token('many', 'a'));
    await eventually(() => held[0]!.closed !== undefined, 'the older connection of device a is replaced');
    for (const s of [...held, again]) s.ws.close();
  });
});

describe('operators see refusals in /metrics', () => {
  it('counts refused handshakes and frames by reason', async () => {
    const server = await startServer({ rateLimitFrames: 5 });
    const metrics = async () => (await fetch(`${server.gateway.url.replace(/^ws/, 'http')}/metrics`)).text();
    const count = (text: string, reason: string) =>
      Number(new RegExp(`im_gateway_refusals_total\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    const before = await metrics();
    await RawSocket.open(server.gateway.url, 'not-a-token').catch(() => undefined);
    const s = await RawSocket.open(server.gateway.url, server.token('counted', 'd1'));
    s.ws.send('text');
    for (let i = 0; i < 10; i++) s.send({ requestId: i + 1, body: { $case: 'ping', value: { clientTimeMs: i } } });
    await s.error();
    await eventually(
      () => s.frames.some((f) => f.body?.$case === 'error' && f.body.value.code === 'RATE_LIMITED'),
      'refusal',
    );
    const after = await metrics();
    assert.equal(count(after, 'auth') - count(before, 'auth'), 1);
    assert.equal(count(after, 'text_frame') - count(before, 'text_frame'), 1);
    assert.equal(count(after, 'rate_limited') - count(before, 'rate_limited'), 1);
    s.ws.close();
    await server.close();
  });
});

describe('browsers: Origin and where the token goes', () => {
  const open = (url: string, headers: Record<string, string>, protocols?: string[]) =>
    new Promise<{ status: number; protocol?: string }>((resolve) => {
      const ws = new WebSocket(url, protocols, { headers });
      ws.once('open', () => {
        resolve({ status: 101, protocol: ws.protocol });
        ws.close();
      });
      ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
      ws.once('error', () => undefined);
    });

  it('refuses another site’s page by default, allows the gateway’s own origin and, embedded, this machine’s', async () => {
    const server = await startServer();
    const auth = { authorization: `Bearer ${server.token('web', 'tab')}` };
    const url = `${server.gateway.url}/v1/ws`;
    const host = new URL(server.gateway.url).host;
    assert.equal((await open(url, { ...auth, origin: 'https://evil.example' })).status, 403);
    assert.equal((await open(url, { ...auth, origin: `http://${host}` })).status, 101);
    assert.equal((await open(url, { ...auth, origin: 'http://localhost:5173' })).status, 101);
    await server.close();
  });

  it('takes the token from a subprotocol and answers im.v1, never the token; ?token= only where allowed', async () => {
    const server = await startServer();
    const token = server.token('web', 'tab');
    const viaProtocol = await open(`${server.gateway.url}/v1/ws`, {}, ['im.v1', `im.bearer.${token}`]);
    assert.deepEqual(viaProtocol, { status: 101, protocol: 'im.v1' });
    assert.equal((await open(`${server.gateway.url}/v1/ws?token=${token}`, {})).status, 401);
    await server.close();
    const legacy = await startServer({ allowQueryToken: 'true' });
    assert.equal((await open(`${legacy.gateway.url}/v1/ws?token=${legacy.token('web', 'tab')}`, {})).status, 101);
    await legacy.close();
  });
});
