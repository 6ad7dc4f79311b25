import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import type { Embedded } from '../../app/embedded.ts';
import { userAuth } from '../../app/user-auth.ts';
import { loadConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';
import { generateSigningKey, publicJwk, type SigningKey } from '../../lib/token-keys.ts';
import { tokenSigner } from '../../lib/token.ts';
import { ImClient } from '../../client/sdk.ts';
import { startServer, type Target } from './harness.ts';
import { RawSocket } from './raw-socket.ts';

const ISSUER = 'https://auth.example.com';
const AUDIENCE = 'chat.example.com';

/**
 * A deployment's own auth server signs user tokens; the server holds only its key set (a JWKS file here) and checks
 * every claim at the handshake and on the HTTP APIs. Keys roll over by editing the file, with no restart.
 */
describe('user tokens from a deployment’s auth server (JWKS file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'im-auth-'));
  const jwks = join(dir, 'jwks.json');
  const [oldKey, newKey] = [generateSigningKey('EdDSA', '2026-11'), generateSigningKey('ES256', '2026-12')];
  const publish = (keys: SigningKey[]) => {
    writeFileSync(`${jwks}.new`, JSON.stringify({ keys: keys.map(publicJwk) }));
    renameSync(`${jwks}.new`, jwks);
  };
  let server: Embedded & Target;
  before(async () => {
    publish([oldKey]);
    server = await startServer({
      authJwksFile: jwks,
      authIssuer: ISSUER,
      authAudience: AUDIENCE,
      authMaxLifetimeSec: 3600,
    });
  });
  after(() => server.close());

  const signed = (key: SigningKey, user: string, ttlSec = 600) =>
    tokenSigner(key, { issuer: ISSUER, audience: AUDIENCE }).sign(user, 'phone', ttlSec);
  const minted = (key: SigningKey, claims: Record<string, unknown>) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'mallory', dev: 'phone', iat: now, exp: now + 60, ...claims })
      .setProtectedHeader({ alg: key.alg, kid: key.kid })
      .sign(key.privateKey);
  };
  /** The handshake's answer to a token: accepted, or its HTTP status and stable code. */
  const handshake = async (token: string) => {
    try {
      const socket = await RawSocket.open(server.gateway.url, token);
      socket.ws.close();
      return 'accepted';
    } catch (err) {
      const { status, body } = err as { status: number; body: string };
      return `${status} ${(JSON.parse(body) as { code: string }).code}`;
    }
  };

  it('lets a device in with its auth server’s token: it sends, and the other user’s device gets it', async () => {
    const bob = new ImClient({ url: server.gateway.url, token: () => signed(oldKey, 'bob'), reconnect: false });
    const got = new Promise<string>((resolve) => bob.on('message', (m) => resolve(Buffer.from(m.body).toString())));
    await bob.connect();
    const alice = new ImClient({ url: server.gateway.url, token: () => signed(oldKey, 'alice'), reconnect: false });
    await alice.connect();
    await alice.send({ user: 'bob' }, { text: 'signed by our auth server' });
    assert.equal(await got, 'signed by our auth server');
    await Promise.all([alice.close(), bob.close()]);
  });

  it('refuses an unknown kid, a wrong issuer or audience, a lifetime over the maximum, and a dev token', async () => {
    const now = Math.floor(Date.now() / 1000);
    assert.equal(await handshake(await minted(generateSigningKey('EdDSA', 'stolen'), {})), '401 UNAUTHORIZED');
    assert.equal(await handshake(await minted(oldKey, { iss: 'https://evil.example' })), '401 UNAUTHORIZED');
    assert.equal(await handshake(await minted(oldKey, { aud: 'im' })), '401 UNAUTHORIZED');
    assert.equal(await handshake(await minted(oldKey, { exp: now + 10 * 365 * 86400 })), '401 UNAUTHORIZED');
    assert.equal(await handshake(await minted(oldKey, { iat: now - 120, exp: now - 60 })), '401 TOKEN_EXPIRED');
    assert.equal(await handshake(server.token('mallory', 'phone')), '401 UNAUTHORIZED', 'the dev key is not trusted');
    const sync = await fetch(server.gateway.url.replace('ws', 'http') + '/v1/sync', {
      method: 'POST',
      headers: { authorization: `Bearer ${await minted(oldKey, { iss: 'x' })}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(sync.status, 401, 'the HTTP sync API checks the same way');
  });

  it('rolls keys over without a restart: both verify during the rollover, the removed one stops', async () => {
    const [before, after] = [signed(oldKey, 'rollover'), signed(newKey, 'rollover')];
    assert.equal(await handshake(before), 'accepted');
    assert.equal(await handshake(after), '401 UNAUTHORIZED');
    publish([oldKey, newKey]);
    await new Promise((r) => setTimeout(r, 1100)); // the file is looked at once a second at most
    assert.equal(await handshake(before), 'accepted');
    assert.equal(await handshake(after), 'accepted');
    publish([newKey]);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(await handshake(before), '401 UNAUTHORIZED');
    assert.equal(await handshake(after), 'accepted');
  });
});

describe('where a process gets its token keys', () => {
  const log = createLogger('silent');
  const dir = mkdtempSync(join(tmpdir(), 'im-auth-'));
  const jwks = join(dir, 'jwks.json');
  writeFileSync(jwks, JSON.stringify({ keys: [publicJwk(generateSigningKey())] }));

  it('refuses to start a cluster process on the dev key unless it is declared a dev cluster', async () => {
    await assert.rejects(userAuth(loadConfig({}, {}), 'cluster', log), /cluster mode needs the public keys/);
    assert.equal((await userAuth(loadConfig({ devCluster: '1' }, {}), 'cluster', log)).keys, 'dev key');
    assert.equal((await userAuth(loadConfig({}, {}), 'embedded', log)).keys, 'dev key');
  });

  it('takes a key set with its issuer, and refuses a key set without one or two key sources', async () => {
    const auth = await userAuth(loadConfig({ authJwksFile: jwks, authIssuer: ISSUER }, {}), 'cluster', log);
    assert.equal(auth.keys, jwks);
    await assert.rejects(userAuth(loadConfig({ authJwksFile: jwks }, {}), 'cluster', log), /IM_AUTH_ISSUER/);
    await assert.rejects(
      userAuth(loadConfig({ authJwksFile: jwks, authJwksUrl: 'https://x', authIssuer: ISSUER }, {}), 'cluster', log),
      /not both/,
    );
  });
});

describe('revoking a sign-in (a lost phone)', () => {
  let server: Embedded & Target;
  before(async () => (server = await startServer()));
  after(() => server.close());

  const admin = (method: string, body?: unknown, token = server.operator.token) =>
    fetch(`${server.gateway.url.replace(/^ws/, 'http')}/v1/admin/auth/revocations`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const connects = async (token: string) =>
    RawSocket.open(server.gateway.url, token).then(
      (s) => {
        s.ws.close();
        return 'accepted';
      },
      (err: { status: number; body: string }) =>
        `${err.status} ${(JSON.parse(err.body) as { message: string }).message}`,
    );
  /** A token issued in a later second than every revocation so far (revocations count whole seconds of iat). */
  const nextSecond = () => new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));

  it('refuses the lost device’s tokens issued until then, and lets its other devices and a new sign-in in', async () => {
    const [lost, laptop] = [server.token('rev-ann', 'lost-phone'), server.token('rev-ann', 'laptop')];
    assert.equal(await connects(lost), 'accepted');
    const res = await admin('POST', { user: 'rev-ann', device: 'lost-phone' });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { device: string }).device, 'lost-phone');
    assert.equal(await connects(lost), '401 token revoked');
    assert.equal(await connects(laptop), 'accepted');
    await nextSecond();
    assert.equal(await connects(server.token('rev-ann', 'lost-phone')), 'accepted', 'signed in again');
  });

  it('cuts the lost device’s open connection at once (close 4001), and leaves its other devices connected', async () => {
    const lost = await RawSocket.open(server.gateway.url, server.token('rev-cut', 'lost-phone'));
    const laptop = await RawSocket.open(server.gateway.url, server.token('rev-cut', 'laptop'));
    const closed = new Promise<number>((resolve) => lost.ws.once('close', (code) => resolve(code)));
    assert.equal((await admin('POST', { user: 'rev-cut', device: 'lost-phone' })).status, 200);
    assert.equal(await closed, 4001);
    assert.equal(laptop.ws.readyState, laptop.ws.OPEN);
    laptop.ws.close();
  });

  it('revokes every device of a user without a device, and lists what is in force', async () => {
    const tokens = ['a', 'b'].map((d) => server.token('rev-bob', d));
    assert.equal((await admin('POST', { user: 'rev-bob' })).status, 200);
    for (const t of tokens) assert.equal(await connects(t), '401 token revoked');
    const listed = (await (await admin('GET')).json()) as { revocations: { user: string; device: string | null }[] };
    assert.ok(listed.revocations.some((r) => r.user === 'rev-bob' && r.device === null));
  });

  it('is for the operator only, and refuses a body that names no valid user', async () => {
    assert.equal((await admin('POST', { user: 'rev-cy' }, 'not-the-token')).status, 401);
    const bad = await admin('POST', { user: 'a:b' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { field: string }).field, 'user');
    assert.equal((await admin('POST', { user: 'rev-cy', extra: 1 })).status, 400);
  });
});
