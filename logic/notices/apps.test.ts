import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { ImError } from '../../lib/errors.ts';
import { MemoryAppStore } from './app-store.memory.ts';
import { Apps, checkScope, type CreatedApp, DEFAULT_RATE_LIMITS, newAppId } from './apps.ts';

function setup(start = 1_000) {
  let now = start;
  const store = new MemoryAppStore();
  const apps = new Apps(store, { now: () => now });
  return { store, apps, tick: (ms: number) => (now += ms) };
}

/** Asserts an INVALID_ARGUMENT whose message matches `message`. */
const invalid = (message: RegExp) => (err: unknown) =>
  err instanceof ImError && err.code === 'INVALID_ARGUMENT' && message.test(err.message);

describe('Apps', () => {
  it('creates an app with a fresh id and a 32-byte secret, returned once and usable as an HMAC key', async () => {
    const { apps, store } = setup();
    const created = await apps.createApp({ name: '  Billing  ', scopes: ['unicast'] });
    assert.match(created.id, /^app_[0-9a-hjkmnp-tv-z]{20}$/);
    assert.equal(Buffer.from(created.secret, 'base64url').length, 32);
    assert.deepEqual(created, {
      id: created.id,
      name: 'Billing',
      scopes: ['unicast'],
      secret: created.secret,
      createdAtMs: 1_000,
      rateLimits: DEFAULT_RATE_LIMITS,
    });
    assert.deepEqual(await store.get(created.id), created);
    const mac = createHmac('sha256', Buffer.from(created.secret, 'base64url')).update('x').digest('hex');
    assert.equal(mac.length, 64);
    const other = await apps.createApp({ name: 'Billing', scopes: ['unicast'] });
    assert.notEqual(other.id, created.id);
    assert.notEqual(other.secret, created.secret);
  });

  it('keeps scopes without duplicates, in the catalogue order, and the rate limits given', async () => {
    const { apps } = setup();
    const created = await apps.createApp({
      name: 'crm',
      scopes: ['read', 'tag', 'unicast', 'read'],
      rateLimits: { recipientsPerSecond: 50 },
    });
    assert.deepEqual(created.scopes, ['unicast', 'tag', 'read']);
    assert.deepEqual(created.rateLimits, {
      requestsPerSecond: DEFAULT_RATE_LIMITS.requestsPerSecond,
      recipientsPerSecond: 50,
    });
  });

  it('refuses a bad name, scopes or rate limits, naming the field, with the value bounded', async () => {
    const { apps, store } = setup();
    const ok = { name: 'crm', scopes: ['unicast'] };
    await assert.rejects(apps.createApp({ ...ok, name: '   ' }), invalid(/^name must not be empty/));
    await assert.rejects(apps.createApp({ ...ok, name: 'x'.repeat(65) }), invalid(/^name must be at most 64/));
    assert.equal((await apps.createApp({ ...ok, name: '🎉'.repeat(64) })).name.length, 128);
    await assert.rejects(apps.createApp({ ...ok, name: 'a\u202eb' }), invalid(/^name must not contain .*U\+202E/));
    await assert.rejects(apps.createApp({ ...ok, name: 7 as unknown as string }), invalid(/^name must be a string/));
    await assert.rejects(apps.createApp({ ...ok, scopes: [] }), invalid(/^scopes must be a non-empty list/));
    await assert.rejects(
      apps.createApp({ ...ok, scopes: ['unicast', 'y'.repeat(5000)] }),
      invalid(/^scopes: unknown scope "y{40}"… \(5000 characters\) \(known: unicast, multicast/),
    );
    await assert.rejects(
      apps.createApp({ ...ok, rateLimits: { requestsPerSecond: 0 } }),
      invalid(/^rateLimits\.requestsPerSecond must be an integer from 1 to 1000000 \(got "0"\)/),
    );
    await assert.rejects(
      apps.createApp({ ...ok, rateLimits: { recipientsPerSecond: 1.5 } }),
      invalid(/^rateLimits\.recipientsPerSecond/),
    );
    await assert.rejects(
      apps.createApp({ ...ok, rateLimits: { recipientsPerSecond: '9' as unknown as number } }),
      invalid(/^rateLimits\.recipientsPerSecond/),
    );
    assert.equal((await store.list({ after: '', limit: 10 })).items.length, 1);
  });

  it('lists apps in pages without their secrets', async () => {
    const { apps } = setup();
    const made = await Promise.all(['a', 'b', 'c'].map((name) => apps.createApp({ name, scopes: ['read'] })));
    const ids = made.map((a) => a.id).sort();
    const first = await apps.listApps({ limit: 2 });
    assert.deepEqual(
      first.items.map((a) => a.id),
      ids.slice(0, 2),
    );
    assert.equal(first.next, ids[1]);
    const second = await apps.listApps({ after: first.next!, limit: 2 });
    const last: Partial<CreatedApp> = { ...made.find((a) => a.id === ids[2])! };
    delete last.secret;
    assert.deepEqual(second, { items: [last] });
    for (const app of [...first.items, ...second.items]) assert.equal('secret' in app, false);
    await assert.rejects(apps.listApps({ limit: 0 }), invalid(/^limit must be an integer from 1 to 500 \(got "0"\)/));
    await assert.rejects(apps.listApps({ limit: 501 }), invalid(/^limit/));
  });

  it('revokes idempotently, keeping the first time, and NOT_FOUND for an unknown app', async () => {
    const { apps, tick } = setup();
    const { id } = await apps.createApp({ name: 'crm', scopes: ['unicast'] });
    tick(500);
    const revoked = await apps.revokeApp(id);
    assert.equal(revoked.revokedAtMs, 1_500);
    assert.equal('secret' in revoked, false);
    tick(500);
    assert.equal((await apps.revokeApp(id)).revokedAtMs, 1_500);
    for (const unknown of [newAppId(), 'nope']) {
      await assert.rejects(
        apps.revokeApp(unknown),
        (err: unknown) => err instanceof ImError && err.code === 'NOT_FOUND',
      );
    }
  });

  it('tells the verifier an active app (with its secret), a revoked one and an unknown one apart', async () => {
    const { apps, tick } = setup();
    const created = await apps.createApp({ name: 'crm', scopes: ['multicast'] });
    const { secret, ...info } = created;
    assert.deepEqual(await apps.secretOf(created.id), { status: 'active', secret, app: info });
    tick(10);
    await apps.revokeApp(created.id);
    assert.deepEqual(await apps.secretOf(created.id), {
      status: 'revoked',
      revokedAtMs: 1_010,
      app: { ...info, revokedAtMs: 1_010 },
    });
    assert.equal(await apps.secretOf(newAppId()), undefined);
    assert.equal(await apps.secretOf('x'.repeat(10_000)), undefined);
    assert.equal(await apps.secretOf(''), undefined);
  });

  it('checks a scope: FORBIDDEN naming the app and the missing scope', () => {
    const app = { id: 'app_0123456789abcdefghjk', scopes: ['unicast' as const, 'read' as const] };
    assert.doesNotThrow(() => checkScope(app, 'unicast'));
    assert.throws(
      () => checkScope(app, 'broadcast'),
      (err: unknown) =>
        err instanceof ImError &&
        err.code === 'FORBIDDEN' &&
        err.message === 'app app_0123456789abcdefghjk lacks scope broadcast (it has: unicast, read)',
    );
  });
});
