import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ImError } from '../lib/errors.ts';
import { MemoryNonceStore } from '../logic/notices/nonce-store.memory.ts';
import { verifySignature } from '../logic/notices/request-signature.ts';
import { NoticeApiClient, OperatorClient, type NoticeStatus } from './notice-api.ts';

const APP = 'app_0123456789abcdefghjk';
const SECRET = 'a-secret-of-the-test-app';
const TOKEN = 'operator-token-of-the-test';

/** What the server received, once it checked the signature (or the operator's token). */
interface Received {
  method: string;
  path: string;
  body: unknown;
  appId?: string;
}

type Answer = { status: number; body: string; headers?: Record<string, string> };

/**
 * A stand-in for the notice API: checks every request as the server does (verifySignature with a nonce store, or
 * the bearer token under /v1/admin/), records it, and answers with `answer`.
 */
class FakeApi {
  readonly received: Received[] = [];
  answer: Answer = json(200, {});
  private readonly nonces = new MemoryNonceStore();
  private readonly server: Server = createServer((req, res) => {
    void this.handle(req).then((a) => res.writeHead(a.status, a.headers ?? {}).end(a.body));
  });

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  listen = () => new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  close = () => new Promise<void>((resolve) => this.server.close(() => resolve()));

  private async handle(req: IncomingMessage): Promise<Answer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const path = req.url ?? '';
    const received: Received = {
      method: req.method ?? '',
      path,
      body: raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8')),
    };
    if (path.startsWith('/v1/admin/')) {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(401, { code: 'UNAUTHORIZED', message: 'no' });
    } else {
      try {
        const secretOf = (id: string) => Promise.resolve(id === APP ? SECRET : undefined);
        const request = { headers: req.headers, method: received.method, path, body: raw };
        received.appId = await verifySignature(request, { secretOf, nonces: this.nonces });
      } catch (err) {
        const e = err as ImError;
        return json(e.httpStatus, { code: e.code, message: e.message });
      }
    }
    this.received.push(received);
    return this.answer;
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Answer {
  return { status, body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } };
}

const STATUS: NoticeStatus = {
  id: 'n_1',
  app_id: APP,
  message_id: 'm1',
  state: 'scheduled',
  target_kind: 'users',
  tag: '',
  priority: 'normal',
  created_at_ms: 1,
  deliver_at_ms: 2,
  expire_at_ms: 3,
  fired_at_ms: 0,
  cancelled_at_ms: 0,
  counts: { targeted: 2, stored: 0, delivered: 0, read: 0 },
  recipients: [],
  created: true,
  content: { title: 'T', body: 'B' },
  first_delivery_ms: 0,
};

async function rejection(promise: Promise<unknown>): Promise<ImError> {
  const err = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ImError, `expected an ImError, got ${String(err)}`);
  return err;
}

describe('NoticeApiClient', () => {
  const api = new FakeApi();
  let client: NoticeApiClient;
  before(async () => {
    await api.listen();
    client = new NoticeApiClient({ baseUrl: api.url, appId: APP, secret: SECRET });
  });
  after(() => api.close());
  beforeEach(() => {
    api.received.length = 0;
    api.answer = json(200, STATUS);
  });

  it('signs a send so that the server’s verifier accepts it, with the body as given', async () => {
    api.answer = json(201, STATUS);
    const notice = {
      message_id: 'm1',
      target: { users: ['bob', 'carol'] },
      content: { title: 'T', body: 'B', data: { order: '42' } },
      priority: 'high' as const,
      ttl_sec: 60,
    };
    assert.deepEqual(await client.send(notice), STATUS);
    assert.deepEqual(api.received, [{ method: 'POST', path: '/v1/notices', body: notice, appId: APP }]);
  });

  it('signs the query string and escaped path segments exactly as sent', async () => {
    api.answer = json(200, { notices: [STATUS], next: 'n_1' });
    assert.deepEqual(await client.list({ state: 'sent', after: 'n_0', limit: 50 }), { notices: [STATUS], next: 'n_1' });
    api.answer = json(200, STATUS);
    await client.get('a b/c');
    await client.cancel('n_1');
    await client.list();
    assert.deepEqual(
      api.received.map((r) => `${r.method} ${r.path}`),
      [
        'GET /v1/notices?state=sent&after=n_0&limit=50',
        'GET /v1/notices/a%20b%2Fc',
        'DELETE /v1/notices/n_1',
        'GET /v1/notices',
      ],
    );
  });

  it('tags users', async () => {
    api.answer = json(200, { added: 2, removed: 0 });
    assert.deepEqual(await client.tag('vip', { add: ['bob', 'carol'] }), { added: 2, removed: 0 });
    assert.deepEqual(api.received[0]?.body, { add: ['bob', 'carol'], remove: [] });
    assert.equal(api.received[0]?.path, '/v1/tags/vip');
  });

  it('makes a fresh nonce for every request (the same call twice is not a replay)', async () => {
    await client.get('n_1');
    await client.get('n_1');
    assert.equal(api.received.length, 2);
  });

  it('throws the server’s refusal as ImError with its code, field and Retry-After', async () => {
    api.answer = json(429, { code: 'RATE_LIMITED', message: 'slow down', field: 'target' }, { 'retry-after': '2' });
    const err = await rejection(client.get('n_1'));
    assert.equal(err.code, 'RATE_LIMITED');
    assert.equal(err.message, 'slow down');
    assert.equal(err.field, 'target');
    assert.equal(err.retryAfterMs, 2000);
  });

  it('is refused with a wrong secret', async () => {
    const wrong = new NoticeApiClient({ baseUrl: api.url, appId: APP, secret: 'not-the-secret' });
    const err = await rejection(wrong.get('n_1'));
    assert.equal(err.code, 'UNAUTHORIZED');
    assert.match(err.message, /signature does not match/);
  });

  it('keeps a code it does not know in the message and goes by the HTTP status', async () => {
    api.answer = json(409, { code: 'SOMETHING_NEW', message: 'conflict' });
    const err = await rejection(client.get('n_1'));
    assert.equal(err.code, 'INTERNAL');
    assert.equal(err.message, 'SOMETHING_NEW: conflict');
    api.answer = { status: 502, body: '<html>bad gateway</html>' };
    const proxied = await rejection(client.get('n_1'));
    assert.equal(proxied.code, 'UNAVAILABLE');
    assert.match(proxied.message, /HTTP 502/);
  });

  it('reports a server it cannot reach as UNAVAILABLE', async () => {
    const nowhere = new NoticeApiClient({ baseUrl: 'http://127.0.0.1:1', appId: APP, secret: SECRET });
    assert.equal((await rejection(nowhere.get('n_1'))).code, 'UNAVAILABLE');
  });
});

describe('OperatorClient', () => {
  const api = new FakeApi();
  before(() => api.listen());
  after(() => api.close());

  it('creates, lists and revokes apps with the operator’s token', async () => {
    const operator = new OperatorClient({ baseUrl: api.url, token: TOKEN });
    const app = {
      id: APP,
      name: 'orders',
      scopes: ['unicast' as const],
      created_at_ms: 1,
      rate_limits: { requests_per_second: 5, recipients_per_second: 100 },
    };
    api.answer = json(201, { ...app, secret: 's' });
    const created = await operator.createApp({
      name: 'orders',
      scopes: ['unicast'],
      rate_limits: { requests_per_second: 5 },
    });
    assert.equal(created.secret, 's');
    api.answer = json(200, { apps: [app] });
    assert.deepEqual(await operator.listApps({ limit: 10 }), { apps: [app] });
    api.answer = json(200, { ...app, revoked_at_ms: 2 });
    assert.equal((await operator.revokeApp(APP)).revoked_at_ms, 2);
    assert.deepEqual(
      api.received.map((r) => [r.method, r.path, r.body]),
      [
        ['POST', '/v1/admin/apps', { name: 'orders', scopes: ['unicast'], rate_limits: { requests_per_second: 5 } }],
        ['GET', '/v1/admin/apps?limit=10', undefined],
        ['DELETE', `/v1/admin/apps/${APP}`, undefined],
      ],
    );
  });

  it('is refused with another token', async () => {
    const stranger = new OperatorClient({ baseUrl: api.url, token: 'guess' });
    assert.equal((await rejection(stranger.listApps())).code, 'UNAUTHORIZED');
  });
});
