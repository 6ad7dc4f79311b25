import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImError } from '../../lib/errors.ts';
import { MemoryNonceStore } from './nonce-store.memory.ts';
import type { NonceStore } from './nonce-store.ts';
import {
  canonicalString,
  NONCE_MARGIN_MS,
  SIGNATURE_WINDOW_MS,
  signRequest,
  verifySignature,
  type SignedRequest,
  type VerifyDeps,
} from './request-signature.ts';

const APP = 'app_0123456789abcdefghjk';
const SECRET = 'app-secret';
const T0 = 1_700_000_000_000;
const body = Buffer.from('{"text":"hi"}');

/** A clock, a nonce store on that clock, and one app. */
function setup() {
  const clock = { now: T0 };
  const now = () => clock.now;
  const nonces = new MemoryNonceStore(now);
  const deps: VerifyDeps = {
    now,
    nonces,
    secretOf: (id) => Promise.resolve(id === APP ? SECRET : undefined),
  };
  const sign = (over: Partial<Parameters<typeof signRequest>[0]> = {}): SignedRequest => {
    const input = { appId: APP, secret: SECRET, now, method: 'POST', path: '/v1/notices?to=u1', body, ...over };
    const sent = typeof input.body === 'string' ? Buffer.from(input.body) : input.body;
    return { method: input.method, path: input.path, body: sent, headers: signRequest(input) };
  };
  return { clock, deps, sign };
}

async function refused(promise: Promise<unknown>, message: RegExp, code = 'UNAUTHORIZED'): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ImError);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

describe('request signature', () => {
  it('signs the documented string: a fixed vector other languages can check (computed with openssl)', () => {
    const canonical = canonicalString('POST', '/v1/notices?to=u1', '1700000000', 'abcdefghijklmnop', body);
    assert.equal(
      canonical,
      'POST\n/v1/notices?to=u1\n1700000000\nabcdefghijklmnop\n' +
        'e7b995efa755c5ff3b84d2188b58cb4ae916a59470eb3761df8a814f11763500',
    );
    const headers = signRequest({
      appId: APP,
      secret: SECRET,
      method: 'post',
      path: '/v1/notices?to=u1',
      body: '{"text":"hi"}',
      now: () => 1_700_000_000_999,
      nonce: 'abcdefghijklmnop',
    });
    assert.deepEqual(headers, {
      'x-im-app': APP,
      'x-im-timestamp': '1700000000',
      'x-im-nonce': 'abcdefghijklmnop',
      'x-im-signature': 'v1=c6245c4f16f41f2a773bf7d266f7ece0be921e5abeb7a29b8bc36bf325f9acd9',
    });
  });

  it('accepts a correctly signed request and answers its app id', async () => {
    const { deps, sign } = setup();
    assert.equal(await verifySignature(sign(), deps), APP);
    assert.equal(await verifySignature(sign({ body: new Uint8Array(0), method: 'GET' }), deps), APP);
  });

  it('makes a fresh random nonce for each request', () => {
    const { sign } = setup();
    const [a, b] = [sign().headers['x-im-nonce'], sign().headers['x-im-nonce']];
    assert.match(String(a), /^[A-Za-z0-9_-]{22}$/);
    assert.notEqual(a, b);
  });

  for (const name of ['x-im-app', 'x-im-timestamp', 'x-im-nonce', 'x-im-signature']) {
    it(`refuses a request without ${name}, or with it twice`, async () => {
      const { deps, sign } = setup();
      const request = sign();
      const { [name]: value, ...rest } = request.headers;
      await refused(verifySignature({ ...request, headers: rest }, deps), new RegExp(`${name} missing`));
      const twice = { ...rest, [name]: [String(value), String(value)] };
      await refused(verifySignature({ ...request, headers: twice }, deps), /given more than once/);
    });
  }

  const malformed: [string, string][] = [
    ['x-im-app', ''],
    ['x-im-app', 'app id'],
    ['x-im-app', 'a'.repeat(65)],
    ['x-im-timestamp', '-1700000000'],
    ['x-im-timestamp', '1700000000.5'],
    ['x-im-timestamp', '9'.repeat(13)],
    ['x-im-nonce', 'short'],
    ['x-im-nonce', 'n'.repeat(65)],
    ['x-im-nonce', 'abcdefghijklmnop:'],
    ['x-im-signature', 'c6245c4f16f41f2a773bf7d266f7ece0be921e5abeb7a29b8bc36bf325f9acd9'],
    ['x-im-signature', 'v2=c6245c4f16f41f2a773bf7d266f7ece0be921e5abeb7a29b8bc36bf325f9acd9'],
    ['x-im-signature', 'v1=C6245C4F16F41F2A773BF7D266F7ECE0BE921E5ABEB7A29B8BC36BF325F9ACD9'],
    ['x-im-signature', 'v1=c6245c4f'],
  ];
  for (const [name, value] of malformed) {
    it(`refuses ${name}: ${JSON.stringify(value.slice(0, 20))}`, async () => {
      const { deps, sign } = setup();
      const request = sign();
      await refused(
        verifySignature({ ...request, headers: { ...request.headers, [name]: value } }, deps),
        new RegExp(`${name} .* is not`),
      );
    });
  }

  it('quotes a huge header value bounded, never whole', async () => {
    const { deps, sign } = setup();
    const request = sign();
    const huge = 'x'.repeat(100_000);
    await assert.rejects(
      verifySignature({ ...request, headers: { ...request.headers, 'x-im-nonce': huge } }, deps),
      (err: Error) => {
        assert.ok(err.message.length < 300, err.message);
        assert.match(err.message, /100000 characters/);
        return true;
      },
    );
  });

  it('refuses a request whose method, path, body or timestamp differs from what was signed', async () => {
    const { deps, sign } = setup();
    const tampered: ((r: SignedRequest) => SignedRequest)[] = [
      (r) => ({ ...r, method: 'PUT' }),
      (r) => ({ ...r, path: '/v1/notices?to=u2' }),
      (r) => ({ ...r, path: '/v1/notices' }),
      (r) => ({ ...r, body: Buffer.from('{"text":"hI"}') }),
      (r) => ({ ...r, body: new Uint8Array(0) }),
      (r) => ({ ...r, headers: { ...r.headers, 'x-im-timestamp': String(T0 / 1000 + 1) } }),
      (r) => ({ ...r, headers: { ...r.headers, 'x-im-nonce': 'another-nonce-of-22ch' } }),
    ];
    for (const change of tampered) {
      await refused(verifySignature(change(sign()), deps), /signature does not match/);
    }
  });

  it('refuses a request signed with another secret, and one from an unknown app', async () => {
    const { deps, sign } = setup();
    await refused(verifySignature(sign({ secret: 'not-the-secret' }), deps), /signature does not match/);
    await refused(verifySignature(sign({ appId: 'app_unknown' }), deps), /unknown app "app_unknown"/);
  });

  it('refuses a timestamp more than 300 s from the server clock, either way, and accepts one at the edge', async () => {
    const { clock, deps, sign } = setup();
    const request = sign();
    clock.now = T0 + SIGNATURE_WINDOW_MS + 1_000;
    await refused(verifySignature(request, deps), /is more than 300 s from the server's clock/);
    clock.now = T0 - SIGNATURE_WINDOW_MS - 1_000;
    await refused(verifySignature(request, deps), /is more than 300 s/);
    clock.now = T0 + SIGNATURE_WINDOW_MS;
    assert.equal(await verifySignature(request, deps), APP);
    clock.now = T0;
    assert.equal(await verifySignature(sign({ now: () => T0 - SIGNATURE_WINDOW_MS }), deps), APP);
  });

  it('refuses a request sent again, for as long as its timestamp is accepted', async () => {
    const { clock, deps, sign } = setup();
    const request = sign();
    assert.equal(await verifySignature(request, deps), APP);
    await refused(verifySignature(request, deps), /x-im-nonce ".*" was already used/);
    clock.now = T0 + SIGNATURE_WINDOW_MS;
    await refused(verifySignature(request, deps), /was already used/);
    clock.now = T0 + SIGNATURE_WINDOW_MS + 1_000;
    await refused(verifySignature(request, deps), /is more than 300 s/);
  });

  it('keeps nonces of different apps apart', async () => {
    const { deps, sign } = setup();
    const other = 'app_other';
    const both: VerifyDeps = { ...deps, secretOf: (id) => Promise.resolve(id === other ? 'other' : SECRET) };
    assert.equal(await verifySignature(sign({ nonce: 'shared-nonce-000' }), both), APP);
    assert.equal(
      await verifySignature(sign({ appId: other, secret: 'other', nonce: 'shared-nonce-000' }), both),
      other,
    );
  });

  it('accepts a nonce again once the earlier request’s timestamp has left the window (and the margin)', async () => {
    const { clock, deps, sign } = setup();
    assert.equal(await verifySignature(sign({ nonce: 'reused-nonce-0000' }), deps), APP);
    clock.now = T0 + SIGNATURE_WINDOW_MS + NONCE_MARGIN_MS - 1_000;
    await refused(verifySignature(sign({ nonce: 'reused-nonce-0000' }), deps), /was already used/);
    clock.now = T0 + SIGNATURE_WINDOW_MS + NONCE_MARGIN_MS;
    assert.equal(await verifySignature(sign({ nonce: 'reused-nonce-0000' }), deps), APP);
  });

  it('asks the nonce store only about correctly signed, fresh requests', async () => {
    const { clock, deps, sign } = setup();
    const asked: string[] = [];
    const nonces: NonceStore = {
      seen: (app, nonce) => (asked.push(nonce), Promise.resolve(false)),
    };
    const spied = { ...deps, nonces };
    await refused(verifySignature(sign({ secret: 'wrong' }), spied), /signature does not match/);
    await refused(verifySignature({ ...sign(), body: Buffer.from('x') }, spied), /signature does not match/);
    const stale = sign();
    clock.now = T0 + SIGNATURE_WINDOW_MS + 1_000;
    await refused(verifySignature(stale, spied), /is more than 300 s/);
    assert.deepEqual(asked, []);
  });

  it('answers UNAVAILABLE, never a pass, when the nonce store fails', async () => {
    const { deps, sign } = setup();
    const nonces: NonceStore = { seen: () => Promise.reject(new Error('connection lost')) };
    await refused(verifySignature(sign(), { ...deps, nonces }), /nonce store unavailable/, 'UNAVAILABLE');
  });

  it('refuses to sign what the server would refuse', () => {
    const base = { appId: APP, secret: SECRET, method: 'POST', path: '/v1/notices', body: '' };
    assert.throws(() => signRequest({ ...base, nonce: 'short' }), /nonce "short"/);
    assert.throws(() => signRequest({ ...base, appId: 'a b' }), /app id/);
    assert.throws(() => signRequest({ ...base, path: 'v1/notices' }), /path/);
    assert.throws(() => signRequest({ ...base, path: '/v1/notices\n1' }), /path/);
  });
});
