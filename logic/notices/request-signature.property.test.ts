import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { settledOrRefused } from '../../test/fuzz/refusal.ts';
import { MemoryNonceStore } from './nonce-store.memory.ts';
import { SIGNATURE_HEADERS, signRequest, verifySignature, type SignedRequest } from './request-signature.ts';

const APP = 'app_0123456789abcdefghjk';
const SECRET = 'app-secret';
const T0 = 1_700_000_000_000;
const now = () => T0;

/** Fresh per request: a replayed nonce is another property (request-signature.test.ts). */
const deps = () => ({
  now,
  nonces: new MemoryNonceStore(now),
  secretOf: (id: string) => Promise.resolve(id === APP ? SECRET : undefined),
});

const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH');
const path = fc.stringMatching(/^\/[\x21-\x7e]{0,60}$/);
const nonce = fc.stringMatching(/^[A-Za-z0-9_-]{16,64}$/);
const body = fc.uint8Array({ maxLength: 200 });

/** A request as an app signs it, with the fields it was signed over. */
const signed = fc.record({ method, path, nonce, body }).map((r): SignedRequest => {
  const headers = signRequest({ appId: APP, secret: SECRET, now, ...r });
  return { method: r.method, path: r.path, body: r.body, headers };
});

type Tamper = (r: SignedRequest) => SignedRequest;
const change = (what: string, tamper: Tamper): [string, Tamper] => [what, tamper];

/** One change to a signed request: every field the signature covers, and the headers that carry them. */
const tampering: fc.Arbitrary<[string, Tamper]> = fc.oneof(
  method.map((m) => change(`method ${m}`, (r) => ({ ...r, method: m }))),
  path.map((p) => change(`path ${p}`, (r) => ({ ...r, path: p }))),
  body.map((b) => change(`body of ${b.length} bytes`, (r) => ({ ...r, body: b }))),
  fc
    .integer({ min: -300, max: 300 })
    .map((s) => change(`timestamp ${s} s off`, (r) => header(r, 'timestamp', String(Number(stamp(r)) + s)))),
  nonce.map((n) => change(`nonce ${n}`, (r) => header(r, 'nonce', n))),
);

const stamp = (r: SignedRequest) => r.headers[SIGNATURE_HEADERS.timestamp] as string;
const header = (r: SignedRequest, name: keyof typeof SIGNATURE_HEADERS, value: string): SignedRequest => ({
  ...r,
  headers: { ...r.headers, [SIGNATURE_HEADERS[name]]: value },
});

/** The same request as far as the signature goes (a method is signed upper case). */
function same(a: SignedRequest, b: SignedRequest): boolean {
  const h = (r: SignedRequest) => JSON.stringify(r.headers);
  return a.method === b.method && a.path === b.path && Buffer.from(a.body).equals(b.body) && h(a) === h(b);
}

describe('notice request signatures, properties', () => {
  it('verifies every request as signed', async () => {
    await fc.assert(
      fc.asyncProperty(signed, async (request) => {
        assert.equal(await verifySignature(request, deps()), APP);
      }),
      { numRuns: 200 },
    );
  });

  it('never verifies a request with another method, path, body, timestamp or nonce than the one signed', async () => {
    await fc.assert(
      fc.asyncProperty(signed, tampering, async (request, [, tamper]) => {
        const other = tamper(request);
        fc.pre(!same(request, other));
        await assert.rejects(verifySignature(other, deps()), { code: 'UNAUTHORIZED' });
      }),
      { numRuns: 300 },
    );
  });

  it('refuses any headers, method and path at all with UNAUTHORIZED, never another error', async () => {
    const value = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
      fc.constant(undefined),
    );
    const headers = fc.record({
      [SIGNATURE_HEADERS.app]: fc.oneof(fc.constant(APP), value),
      [SIGNATURE_HEADERS.timestamp]: fc.oneof(fc.constant(String(T0 / 1000)), value),
      [SIGNATURE_HEADERS.nonce]: fc.oneof(nonce, value),
      [SIGNATURE_HEADERS.signature]: fc.oneof(fc.stringMatching(/^v1=[0-9a-f]{64}$/), value),
    });
    const anyMethod = fc.oneof(method, fc.string({ maxLength: 20 }));
    const anyPath = fc.oneof(path, fc.string({ maxLength: 100 }));
    await fc.assert(
      fc.asyncProperty(headers, anyMethod, anyPath, body, async (h, m, p, b) => {
        const request = { headers: h, method: m, path: p, body: b };
        const app = await settledOrRefused(() => verifySignature(request, deps()), ['UNAUTHORIZED']);
        assert.equal(app, undefined, 'a forged signature verified');
      }),
      { numRuns: 300 },
    );
  });
});
