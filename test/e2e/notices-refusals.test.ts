import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Embedded } from '../../app/embedded.ts';
import { OperatorClient, type AppInfo, type NewApp, type NoticeStatus } from '../../client/notice-api.ts';
import type { NoticeEntry } from '../../client/notices.ts';
import { SIGNATURE_HEADERS, signRequest } from '../../logic/notices/request-signature.ts';
import { connect, eventually, sleep, startServer, type Target, type TestClient } from './harness.ts';

/**
 * Every refused notice request, over real HTTP against one embedded server: the status, the stable code (and the
 * field at fault for a 400), and that nothing was stored (the app's own list, and an SDK user named in the refused
 * requests gets no notice). Requests are signed here with signRequest so that each fault can be made on purpose.
 */

interface App {
  id: string;
  secret: string;
}

/** An answer as it came: status, headers, and the JSON body (an error's `{code, message, field?}`). */
interface Answer {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

interface SignOptions {
  /** The clock signRequest reads (ms). */
  now?: () => number;
  /** Sign as if the request were this method / path / body; the request itself is sent as given. */
  signMethod?: string;
  signPath?: string;
  signBody?: string;
  /** Signature headers left out. */
  omit?: string[];
}

/** Users with an SDK connection: WATCHER is named in every refused request, BARRIER receives the barrier notice. */
const WATCHER = 'rf-watch';
const BARRIER = 'rf-barrier';
const IDEM_USER = 'rf-idem';

const notice = (messageId: string, users: string[] = [WATCHER], extra: Record<string, unknown> = {}) => ({
  message_id: messageId,
  target: { users },
  content: { title: 'Refused?', body: `notice ${messageId}` },
  ...extra,
});

describe('notice API refusals (signed HTTP, one embedded server)', () => {
  let server: Embedded & Target;
  let baseUrl: string;
  let operator: OperatorClient;
  /** All scopes, generous limits: signature faults and bad input are made with it; it must end with nothing stored. */
  let main: App;
  let watcher: TestClient;
  const watcherNotices: NoticeEntry[] = [];

  before(async () => {
    server = await startServer();
    baseUrl = server.gateway.url.replace(/^ws/, 'http');
    operator = new OperatorClient({ baseUrl, token: server.operator.token });
    main = await createApp({
      name: 'refusals main',
      scopes: ['unicast', 'multicast', 'tag', 'broadcast', 'read'],
      rate_limits: { requests_per_second: 1000, recipients_per_second: 100_000 },
    });
    watcher = await connect(server, WATCHER, 'd1');
    watcher.client.on('notice', (n) => watcherNotices.push(n));
  });
  after(async () => {
    await watcher?.client.close();
    await server?.close();
  });

  const createApp = async (app: NewApp): Promise<App> => {
    const created = await operator.createApp(app);
    return { id: created.id, secret: created.secret };
  };

  /** Sends a request exactly as given (no signature unless in `headers`). */
  const send = async (
    method: string,
    path: string,
    body: string | Buffer = '',
    headers: Record<string, string> = {},
  ): Promise<Answer> => {
    const res = await fetch(new URL(path, baseUrl), {
      method,
      headers: body.length === 0 ? headers : { 'content-type': 'application/json', ...headers },
      body: body.length === 0 ? undefined : body,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      assert.fail(`HTTP ${res.status} ${method} ${path}: body is not JSON: ${text.slice(0, 200)}`);
    }
    return { status: res.status, headers: res.headers, json };
  };

  /** The signature headers of a request by `app` (a fault made with `options`). */
  const sign = (app: App, method: string, path: string, body: string, options: SignOptions = {}) => {
    const headers: Record<string, string> = signRequest({
      appId: app.id,
      secret: app.secret,
      method: options.signMethod ?? method,
      path: options.signPath ?? path,
      body: options.signBody ?? body,
      ...(options.now ? { now: options.now } : {}),
    });
    for (const name of options.omit ?? []) delete headers[name];
    return headers;
  };

  /** Signs and sends; `body` an object is sent as JSON, a string as it is. */
  const call = (app: App, method: string, path: string, body: unknown = '', options: SignOptions = {}) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return send(method, path, text, sign(app, method, path, text, options));
  };

  /** Asserts a refusal: status, stable code, and (for a 400) exactly the field named. */
  const refused = (answer: Answer, status: number, code: string, field?: string): string => {
    assert.equal(
      answer.status,
      status,
      `expected ${status} ${code}, got ${answer.status} ${JSON.stringify(answer.json)}`,
    );
    assert.equal(answer.json.code, code, JSON.stringify(answer.json));
    assert.equal(typeof answer.json.message, 'string');
    if (field !== undefined) assert.equal(answer.json.field, field, JSON.stringify(answer.json));
    return answer.json.message as string;
  };

  const listOf = async (app: App): Promise<NoticeStatus[]> => {
    const answer = await call(app, 'GET', '/v1/notices?limit=500');
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    return (answer.json as { notices: NoticeStatus[] }).notices;
  };

  describe('signature', () => {
    for (const header of Object.values(SIGNATURE_HEADERS)) {
      it(`refuses a request without ${header} (401)`, async () => {
        const message = refused(
          await call(main, 'POST', '/v1/notices', notice(`sig-missing-${header}`), { omit: [header] }),
          401,
          'UNAUTHORIZED',
        );
        assert.match(message, new RegExp(`${header} missing`));
      });
    }

    it('refuses a body changed after signing (401)', async () => {
      const message = refused(
        await call(main, 'POST', '/v1/notices', notice('sig-body-changed'), {
          signBody: JSON.stringify(notice('sig-body-as-signed')),
        }),
        401,
        'UNAUTHORIZED',
      );
      assert.match(message, /signature does not match/);
    });

    it('refuses a path changed after signing (401)', async () => {
      const message = refused(
        await call(main, 'POST', '/v1/notices', notice('sig-path-changed'), { signPath: '/v1/notices?signed=1' }),
        401,
        'UNAUTHORIZED',
      );
      assert.match(message, /signature does not match/);
      // The query is part of what is signed: a list signed without it and sent with it is refused too.
      refused(await call(main, 'GET', '/v1/notices?limit=1', '', { signPath: '/v1/notices' }), 401, 'UNAUTHORIZED');
    });

    it('refuses a method changed after signing (401)', async () => {
      const message = refused(
        await call(main, 'POST', '/v1/notices', notice('sig-method-changed'), { signMethod: 'PUT' }),
        401,
        'UNAUTHORIZED',
      );
      assert.match(message, /signature does not match/);
    });

    it('refuses a request signed with another secret (401)', async () => {
      const forged = { id: main.id, secret: 'not-the-secret-of-this-app-at-all' };
      refused(await call(forged, 'POST', '/v1/notices', notice('sig-forged')), 401, 'UNAUTHORIZED');
    });

    it('refuses a timestamp 301 s old or 301 s ahead (401), and takes one 290 s old', async () => {
      // Whole seconds, so the timestamp is no closer to the server's clock than 301 s by rounding down.
      const old = () => Math.floor((Date.now() - 301_000) / 1000) * 1000;
      const ahead = () => Math.ceil((Date.now() + 301_000) / 1000) * 1000;
      for (const [now, id] of [
        [old, 'sig-old'],
        [ahead, 'sig-ahead'],
      ] as const) {
        const message = refused(await call(main, 'POST', '/v1/notices', notice(id), { now }), 401, 'UNAUTHORIZED');
        assert.match(message, /x-im-timestamp \d+ is more than 300 s from the server's clock/);
      }
      const answer = await call(main, 'GET', '/v1/notices', '', { now: () => Date.now() - 290_000 });
      assert.equal(answer.status, 200, JSON.stringify(answer.json));
    });

    it('refuses the exact same signed request sent a second time (401), and stores the first once', async () => {
      const app = await createApp({ name: 'replay', scopes: ['unicast', 'read'] });
      const body = JSON.stringify(notice('replayed', ['rf-replay']));
      const headers = sign(app, 'POST', '/v1/notices', body);
      const first = await send('POST', '/v1/notices', body, headers);
      assert.equal(first.status, 201, JSON.stringify(first.json));
      const message = refused(await send('POST', '/v1/notices', body, headers), 401, 'UNAUTHORIZED');
      assert.match(message, /x-im-nonce .* was already used/);
      assert.deepEqual(
        (await listOf(app)).map((n) => [n.id, n.message_id]),
        [[first.json.id, 'replayed']],
      );
    });

    it('refuses an unknown app id (401)', async () => {
      for (const id of ['app_0000000000000000000z', 'not-an-app']) {
        const message = refused(
          await call({ id, secret: 'whatever-secret' }, 'POST', '/v1/notices', notice('sig-unknown-app')),
          401,
          'UNAUTHORIZED',
        );
        assert.match(message, /unknown app/);
      }
    });

    it('refuses a revoked app’s correctly signed request (401, saying revoked)', async () => {
      const app = await createApp({ name: 'to revoke', scopes: ['unicast', 'read'] });
      const before = await call(app, 'POST', '/v1/notices', notice('before-revoke', ['rf-revoked']));
      assert.equal(before.status, 201, JSON.stringify(before.json));
      const revoked: AppInfo = await operator.revokeApp(app.id);
      assert.ok((revoked.revoked_at_ms ?? 0) > 0);
      for (const [method, path, body] of [
        ['POST', '/v1/notices', notice('after-revoke', [WATCHER])],
        ['GET', '/v1/notices', ''],
        ['GET', `/v1/notices/${String(before.json.id)}`, ''],
        ['DELETE', `/v1/notices/${String(before.json.id)}`, ''],
      ] as const) {
        const message = refused(await call(app, method, path, body), 401, 'UNAUTHORIZED');
        assert.match(message, /revoked/, `${method} ${path}`);
      }
    });
  });

  describe('scopes', () => {
    let uni: App;
    let own: string;
    before(async () => {
      uni = await createApp({ name: 'unicast only', scopes: ['unicast'] });
      // The app works within its scope: one user.
      const ok = await call(uni, 'POST', '/v1/notices', notice('uni-ok', ['rf-uni-ok']));
      assert.equal(ok.status, 201, JSON.stringify(ok.json));
      own = String(ok.json.id);
    });

    it('refuses a multicast (2 users) from an app with only unicast (403)', async () => {
      const message = refused(
        await call(uni, 'POST', '/v1/notices', notice('uni-multi', [WATCHER, 'rf-other'])),
        403,
        'FORBIDDEN',
      );
      assert.match(message, /lacks scope multicast/);
    });

    it('refuses a notice to a tag from an app with only unicast (403)', async () => {
      const body = { message_id: 'uni-tag', target: { tag: 'vip' }, content: { title: 'T', body: 'B' } };
      const message = refused(await call(uni, 'POST', '/v1/notices', body), 403, 'FORBIDDEN');
      assert.match(message, /lacks scope tag/);
    });

    it('refuses a notice to everyone from an app with only unicast (403)', async () => {
      const body = { message_id: 'uni-all', target: { all: true }, content: { title: 'T', body: 'B' } };
      const message = refused(await call(uni, 'POST', '/v1/notices', body), 403, 'FORBIDDEN');
      assert.match(message, /lacks scope broadcast/);
    });

    it('refuses tagging users without the tag scope (403)', async () => {
      const message = refused(
        await call(uni, 'POST', '/v1/tags/vip', { add: [WATCHER], remove: [] }),
        403,
        'FORBIDDEN',
      );
      assert.match(message, /lacks scope tag/);
    });

    it('refuses listing notices, or reading its own, without the read scope (403)', async () => {
      assert.match(refused(await call(uni, 'GET', '/v1/notices'), 403, 'FORBIDDEN'), /lacks scope read/);
      assert.match(refused(await call(uni, 'GET', `/v1/notices/${own}`), 403, 'FORBIDDEN'), /lacks scope read/);
    });
  });

  describe('another app’s notice', () => {
    it('is not found for GET and DELETE (404, never 403), and is left as it was', async () => {
      const owner = await createApp({ name: 'owner', scopes: ['unicast', 'read'] });
      const stranger = await createApp({ name: 'stranger', scopes: ['unicast', 'read'] });
      const sent = await call(owner, 'POST', '/v1/notices', notice('owned', ['rf-owned'], { deliver_at_ms: 0 }));
      assert.equal(sent.status, 201, JSON.stringify(sent.json));
      const id = String(sent.json.id);
      // A well-formed id that no app has: the answer to another app's id must look the same.
      const missing = `ntc_${'0'.repeat(26)}`;
      for (const method of ['GET', 'DELETE']) {
        const theirs = await call(stranger, method, `/v1/notices/${id}`);
        const nobodys = await call(stranger, method, `/v1/notices/${missing}`);
        refused(theirs, 404, 'NOT_FOUND');
        refused(nobodys, 404, 'NOT_FOUND');
        assert.equal(
          String(theirs.json.message).replace(id, 'ID'),
          String(nobodys.json.message).replace(missing, 'ID'),
        );
      }
      const still = await call(owner, 'GET', `/v1/notices/${id}`);
      assert.equal(still.status, 200, JSON.stringify(still.json));
      assert.notEqual(still.json.state, 'cancelled');
      assert.equal(still.json.cancelled_at_ms, 0);
    });
  });

  describe('operator API', () => {
    const appCount = async () => {
      let count = 0;
      let after = '';
      for (;;) {
        const page = await operator.listApps({ after, limit: 500 });
        count += page.apps.length;
        if (!page.next) return count;
        after = page.next;
      }
    };
    const goodApp = JSON.stringify({ name: 'operator test', scopes: ['unicast'] });

    it('refuses a missing or wrong operator token (401)', async () => {
      const before = await appCount();
      refused(await send('POST', '/v1/admin/apps', goodApp), 401, 'UNAUTHORIZED');
      refused(await send('GET', '/v1/admin/apps'), 401, 'UNAUTHORIZED');
      const wrong = { authorization: `Bearer ${server.operator.token}x` };
      refused(await send('POST', '/v1/admin/apps', goodApp, wrong), 401, 'UNAUTHORIZED');
      refused(await send('GET', '/v1/admin/apps', '', wrong), 401, 'UNAUTHORIZED');
      refused(await send('DELETE', `/v1/admin/apps/${main.id}`, '', wrong), 401, 'UNAUTHORIZED');
      // A signed app request is no operator credential either.
      refused(await call(main, 'GET', '/v1/admin/apps'), 401, 'UNAUTHORIZED');
      assert.equal(await appCount(), before);
      assert.equal((await call(main, 'GET', '/v1/notices')).status, 200, 'main app still active');
    });

    for (const [what, body, mentions] of [
      ['an unknown scope', { name: 'bad scope', scopes: ['unicast', 'superuser'] }, /scope.*superuser/],
      ['an empty name', { name: '', scopes: ['unicast'] }, /name/],
      ['a blank name', { name: '   ', scopes: ['unicast'] }, /name/],
      ['an unknown field', { name: 'extra', scopes: ['unicast'], owner: 'me' }, /owner/],
      ['an unknown rate limit', { name: 'extra', scopes: ['unicast'], rate_limits: { burst: 5 } }, /burst/],
      [
        'a rate limit out of range',
        { name: 'zero', scopes: ['unicast'], rate_limits: { requests_per_second: 0 } },
        /requests_?per_?second/i,
      ],
    ] as const) {
      it(`refuses an app body with ${what} (400) and creates no app`, async () => {
        const before = await appCount();
        const token = { authorization: `Bearer ${server.operator.token}` };
        const message = refused(
          await send('POST', '/v1/admin/apps', JSON.stringify(body), token),
          400,
          'INVALID_ARGUMENT',
        );
        assert.match(message, mentions);
        assert.equal(await appCount(), before);
      });
    }
  });

  describe('rate limits', () => {
    it('refuses the third request within a second of an app allowed 2 per second (429, Retry-After)', async () => {
      const app = await createApp({
        name: 'two per second',
        scopes: ['unicast', 'read'],
        rate_limits: { requests_per_second: 2 },
      });
      const answers: Answer[] = [];
      const started = Date.now();
      for (const id of ['rps-1', 'rps-2', 'rps-3']) {
        answers.push(await call(app, 'POST', '/v1/notices', notice(id, ['rf-rps'])));
      }
      assert.ok(Date.now() - started < 900, 'the three requests fit in one second');
      assert.deepEqual(
        answers.map((a) => a.status),
        [201, 201, 429],
      );
      const limited = answers[2]!;
      refused(limited, 429, 'RATE_LIMITED');
      const retryAfter = limited.headers.get('retry-after') ?? '';
      assert.match(retryAfter, /^\d+$/);
      assert.ok(Number(retryAfter) >= 1, `Retry-After ${retryAfter}`);
      assert.ok(Number(limited.json.retryAfterMs) >= 1);
      assert.deepEqual((await listOf(app)).map((n) => n.message_id).sort(), ['rps-1', 'rps-2']);
    });

    it('refuses recipients past the per-minute budget (429), and more than a minute’s worth at once (400 target)', async () => {
      const app = await createApp({
        name: 'sixty a minute',
        scopes: ['unicast', 'multicast', 'read'],
        rate_limits: { recipients_per_second: 1 },
      });
      const users = (from: number, n: number) => Array.from({ length: n }, (_, i) => `rf-rcpt-${from + i}`);
      const first = await call(app, 'POST', '/v1/notices', notice('rcpt-1', users(0, 40)));
      assert.equal(first.status, 201, JSON.stringify(first.json));
      const second = await call(app, 'POST', '/v1/notices', notice('rcpt-2', users(40, 40)));
      refused(second, 429, 'RATE_LIMITED');
      assert.ok(Number(second.headers.get('retry-after')) >= 1);
      refused(
        await call(app, 'POST', '/v1/notices', notice('rcpt-3', users(100, 61))),
        400,
        'INVALID_ARGUMENT',
        'target',
      );
      assert.deepEqual(
        (await listOf(app)).map((n) => n.message_id),
        ['rcpt-1'],
      );
    });
  });

  describe('rate limits: what a refusal costs', () => {
    it('leaves the recipient budget a refused request did not use: 40 sent, 40 refused, 20 still fit', async () => {
      const app = await createApp({
        name: 'sixty a minute, again',
        scopes: ['unicast', 'multicast', 'read'],
        rate_limits: { recipients_per_second: 1 },
      });
      const users = (from: number, n: number) => Array.from({ length: n }, (_, i) => `rf-budget-${from + i}`);
      // More than a minute's worth at once is refused before anything is charged.
      refused(
        await call(app, 'POST', '/v1/notices', notice('budget-0', users(0, 61))),
        400,
        'INVALID_ARGUMENT',
        'target',
      );
      const first = await call(app, 'POST', '/v1/notices', notice('budget-1', users(100, 40)));
      assert.equal(first.status, 201, JSON.stringify(first.json));
      refused(await call(app, 'POST', '/v1/notices', notice('budget-2', users(200, 40))), 429, 'RATE_LIMITED');
      // 40 of the minute's 60 recipients were reached: the refused 40 reached nobody, so 20 more fit.
      const third = await call(app, 'POST', '/v1/notices', notice('budget-3', users(300, 20)));
      assert.equal(
        third.status,
        201,
        `20 more recipients after 40 of 60: ${third.status} ${JSON.stringify(third.json)}`,
      );
      assert.deepEqual((await listOf(app)).map((n) => n.message_id).sort(), ['budget-1', 'budget-3']);
    });
  });

  describe('bad input', () => {
    const now = () => Date.now();
    const cases: [what: string, body: () => unknown, field: string | undefined][] = [
      ['target.users empty', () => notice('bad-empty-users', []), 'target.users'],
      [
        '10,001 users',
        () =>
          notice(
            'bad-10001',
            Array.from({ length: 10_001 }, (_, i) => (i === 0 ? WATCHER : `rf-many-${i}`)),
          ),
        'target.users',
      ],
      ['an invalid user id', () => notice('bad-user-id', [WATCHER, 'no spaces allowed']), 'target.users[1]'],
      [
        'deliver_at_ms more than 60 s in the past',
        () => notice('bad-past', [WATCHER], { deliver_at_ms: now() - 120_000 }),
        'deliver_at_ms',
      ],
      [
        'deliver_at_ms more than 30 days ahead',
        () => notice('bad-far', [WATCHER], { deliver_at_ms: now() + 31 * 86_400_000 }),
        'deliver_at_ms',
      ],
      [
        'expire_at_ms before deliver_at_ms',
        () => notice('bad-expire', [WATCHER], { deliver_at_ms: now() + 3_600_000, expire_at_ms: now() + 60_000 }),
        'expire_at_ms',
      ],
      [
        'both expire_at_ms and ttl_sec',
        () => notice('bad-both', [WATCHER], { expire_at_ms: now() + 3_600_000, ttl_sec: 3600 }),
        'ttl_sec',
      ],
      [
        'empty content (no title, no body)',
        () => ({ message_id: 'bad-content', target: { users: [WATCHER] }, content: { title: '', body: ' ' } }),
        'content',
      ],
      ['an unknown priority', () => notice('bad-priority', [WATCHER], { priority: 'urgent' }), 'priority'],
      ['message_id too long (129)', () => notice('m'.repeat(129)), 'message_id'],
      [
        'image_url not https',
        () => ({ ...notice('bad-image'), content: { title: 'T', body: 'B', image_url: 'http://example.com/a.png' } }),
        'content.image_url',
      ],
    ];
    for (const [what, body, field] of cases) {
      it(`refuses ${what} (400, field ${field})`, async () => {
        refused(await call(main, 'POST', '/v1/notices', body()), 400, 'INVALID_ARGUMENT', field);
      });
    }

    it('refuses an unknown JSON field (400, field naming it)', async () => {
      // A misspelt field is refused rather than ignored; the answer names it, as it names every other faulty field.
      const top = await call(main, 'POST', '/v1/notices', notice('bad-field', [WATCHER], { prioritee: 'high' }));
      assert.match(refused(top, 400, 'INVALID_ARGUMENT'), /prioritee/);
      const nested = { ...notice('bad-content-field'), content: { title: 'T', body: 'B', titel: 'x' } };
      const inContent = await call(main, 'POST', '/v1/notices', nested);
      assert.match(refused(inContent, 400, 'INVALID_ARGUMENT'), /titel/);
      assert.deepEqual(
        [top.json.field, inContent.json.field],
        ['prioritee', 'content.titel'],
        `fields named: ${JSON.stringify([top.json, inContent.json])}`,
      );
    });

    it('refuses a body that is not JSON (400)', async () => {
      const message = refused(
        await call(main, 'POST', '/v1/notices', '{"message_id": "bad-json", "target": '),
        400,
        'INVALID_ARGUMENT',
      );
      assert.match(message, /not JSON/);
    });

    it('refuses content over 8 KiB (413 TOO_LARGE, field content)', async () => {
      const body = { ...notice('bad-oversize'), content: { title: 'T', body: 'x'.repeat(9000) } };
      refused(await call(main, 'POST', '/v1/notices', body), 413, 'TOO_LARGE', 'content');
    });

    it('refuses a body over 1 MiB (413) and keeps serving', async () => {
      const body = JSON.stringify(notice('bad-huge', [WATCHER], { pad: 'x'.repeat(1024 * 1024) }));
      const message = refused(await call(main, 'POST', '/v1/notices', body), 413, 'TOO_LARGE');
      assert.match(message, /body is over 1048576 bytes/);
      assert.equal((await call(main, 'GET', '/v1/notices')).status, 200);
    });

    it('refuses PUT /v1/notices (405 with Allow)', async () => {
      const answer = await call(main, 'PUT', '/v1/notices', notice('bad-put'));
      refused(answer, 405, 'METHOD_NOT_ALLOWED');
      const allow = (answer.headers.get('allow') ?? '').split(/,\s*/).sort();
      assert.deepEqual(allow, ['GET', 'POST']);
    });
  });

  describe('stores nothing', () => {
    it('lists none of the refused notices, and the named SDK user got none', async () => {
      assert.deepEqual(await listOf(main), []);
      // A barrier: a notice accepted now reaches its (connected) recipient; any refused one fired before it would
      // have reached the watcher by then.
      const control = await createApp({ name: 'control', scopes: ['unicast'] });
      const barrier = await connect(server, BARRIER, 'd1');
      try {
        const got: NoticeEntry[] = [];
        barrier.client.on('notice', (n) => got.push(n));
        const sent = await call(control, 'POST', '/v1/notices', notice('barrier', [BARRIER]));
        assert.equal(sent.status, 201, JSON.stringify(sent.json));
        await eventually(() => got.length === 1, 'the barrier notice');
      } finally {
        await barrier.client.close();
      }
      await watcher.client.sync();
      assert.deepEqual(watcherNotices, []);
      assert.equal(watcher.client.unread.get('system') ?? 0, 0);
      assert.deepEqual(watcher.messages, []);
    });
  });

  describe('idempotency', () => {
    it('answers the same message_id 201 then 200 (created false, same id), and the user gets it once', async () => {
      const app = await createApp({ name: 'idempotent', scopes: ['unicast', 'read'] });
      const user = await connect(server, IDEM_USER, 'd1');
      try {
        const got: NoticeEntry[] = [];
        user.client.on('notice', (n) => got.push(n));
        const first = await call(app, 'POST', '/v1/notices', notice('same-id', [IDEM_USER]));
        assert.equal(first.status, 201, JSON.stringify(first.json));
        assert.equal(first.json.created, true);
        const second = await call(app, 'POST', '/v1/notices', notice('same-id', [IDEM_USER]));
        assert.equal(second.status, 200, JSON.stringify(second.json));
        assert.equal(second.json.created, false);
        assert.equal(second.json.id, first.json.id);
        await eventually(() => got.length >= 1, 'the notice');
        await sleep(200);
        await user.client.sync();
        assert.deepEqual(
          got.map((n) => n.noticeId),
          [first.json.id],
        );
        assert.equal(user.client.unread.get('system'), 1);
        assert.deepEqual(
          (await listOf(app)).map((n) => n.id),
          [first.json.id],
        );
      } finally {
        await user.client.close();
      }
    });
  });
});
