import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { OfflineServiceClient } from '../proto/gen/im/v1/services.pb.ts';
import { OfflineServiceService, type OfflineApi } from '../offline/index.ts';
import { GatewayServiceService, type GatewayApi } from '../gateway/index.ts';
import { clusterCallers } from '../app/cluster/callers.ts';
import { memoryOffline } from '../test/offline.ts';
import { testIdentities } from '../test/service-identities.ts';
import { ImError } from './errors.ts';
import { addApi, clientCredentials, grpcClient, secureChannelOptions, serveGrpc } from './grpc.ts';
import { closeAll, type Closeable } from './lifecycle.ts';
import type { ServiceIdentity } from './service-identity.ts';

const ROLES = ['offline', 'push', 'gateway', 'logic'] as const;
const message = {
  prevSeq: 0,
  streamIndex: 0,
  op: undefined,
  recalled: undefined,
  notice: undefined,
  serverMsgId: 'm1',
  conversation: 'dm:u0:u1',
  fromUser: 'u0',
  fromDevice: 'd',
  clientMsgId: 'c1',
  seq: 1,
  stream: 'inbox',
  sentAtMs: 1,
  contentType: 'text/plain',
  body: Buffer.from('planted'),
};

/** Offline's API recording which of its methods ran: a refused call must run none. */
function recorded(offline: OfflineApi): { impl: OfflineApi; ran: string[] } {
  const ran: string[] = [];
  const impl = new Proxy(offline, {
    get: (target, key: string) => {
      const value = (target as unknown as Record<string, unknown>)[key];
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        ran.push(key);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { impl, ran };
}

/** A client that trusts the server (CA and role) without checking it: only the server's refusal is tested. */
const trustServer = { checkServerIdentity: () => undefined };

const unaryCall = <T>(run: (done: (err: ServiceError | null, res?: T) => void) => void) =>
  new Promise<{ err: ServiceError | null; res?: T }>((resolve) => run((err, res) => resolve({ err, res })));

describe('gRPC between services: mTLS under the cluster CA, and what each role may call', () => {
  let ids: Record<(typeof ROLES)[number], ServiceIdentity>;
  let stranger: ServiceIdentity;
  let address = '';
  let gatewayAddress = '';
  let ran: string[] = [];
  const started: Closeable[] = [];
  before(async () => {
    ids = await testIdentities(...ROLES);
    stranger = (await testIdentities('push')).push; // a push certificate from another CA
    const offline = recorded(memoryOffline());
    ran = offline.ran;
    const server = await serveGrpc((s) => addApi(s, OfflineServiceService, offline.impl), {
      identity: ids.offline,
      callers: clusterCallers,
    });
    const gateway: GatewayApi = {
      deliver: () => Promise.resolve({ delivered: 1, goneConnIds: [], fullConnIds: [] }),
      changeRooms: () => Promise.resolve({ changed: 0, goneConnIds: [] }),
    };
    const gatewayServer = await serveGrpc((s) => addApi(s, GatewayServiceService, gateway), {
      identity: ids.gateway,
      callers: clusterCallers,
    });
    address = server.address;
    gatewayAddress = gatewayServer.address;
    started.push(server, gatewayServer);
  });
  after(() => closeAll(started));

  const client = (identity: ServiceIdentity, serverRole = 'offline') => {
    const c = grpcClient(OfflineServiceService, address, { identity, serverRole, timeoutMs: 3_000 });
    started.push(c);
    return c;
  };

  it('serves a role the methods its table lists: push reads an inbox, on the call stream and as a unary call', async () => {
    const push = client(ids.push);
    assert.deepEqual((await push.readInbox({ user: 'u1', afterSeq: 0, limit: 10 })).messages, []);
    const unary = new OfflineServiceClient(
      address,
      clientCredentials(ids.push, 'offline'),
      secureChannelOptions('offline'),
    );
    try {
      const { err } = await unaryCall((done) => unary.getCursor({ user: 'u1', device: 'd' }, done));
      assert.equal(err, null);
    } finally {
      unary.close();
    }
  });

  it('refuses a caller without a client certificate, or in plaintext, before any method runs', async () => {
    const before = ran.length;
    const noCert = new OfflineServiceClient(
      address,
      credentials.createSsl(Buffer.from(ids.offline.ca), null, null, trustServer),
      {
        'grpc.ssl_target_name_override': 'offline',
      },
    );
    const plaintext = new OfflineServiceClient(address, credentials.createInsecure());
    try {
      for (const c of [noCert, plaintext]) {
        const { err } = await unaryCall((done) =>
          c.writeInbox({ entries: [{ user: 'u1', message }] }, new Metadata(), { deadline: Date.now() + 3_000 }, done),
        );
        assert.ok(err, 'the call was answered');
        assert.ok([status.UNAVAILABLE, status.DEADLINE_EXCEEDED].includes(err.code), `status ${err.code}`);
      }
    } finally {
      noCert.close();
      plaintext.close();
    }
    assert.equal(ran.length, before);
  });

  it('refuses a certificate from another CA, even one naming an allowed role', async () => {
    const before = ran.length;
    // The stranger trusts our CA (it can verify the server) but its own certificate is signed by another one.
    const impostor = client({ ...stranger, ca: ids.push.ca });
    await assert.rejects(impostor.readInbox({ user: 'u1', afterSeq: 0, limit: 10 }), { code: 'UNAVAILABLE' });
    assert.equal(ran.length, before);
  });

  it('answers PERMISSION_DENIED to a gateway certificate calling WriteInbox, on the call stream and unary', async () => {
    const before = ran.length;
    // The gateway may call no method of offline's: its call stream is refused when it opens.
    await assert.rejects(client(ids.gateway).writeInbox({ entries: [{ user: 'u1', message }] }), (err: unknown) => {
      assert.ok(err instanceof ImError);
      assert.equal(err.code, 'FORBIDDEN');
      return true;
    });
    const unary = new OfflineServiceClient(
      address,
      clientCredentials(ids.gateway, 'offline'),
      secureChannelOptions('offline'),
    );
    try {
      const { err } = await unaryCall((done) => unary.writeInbox({ entries: [{ user: 'u1', message }] }, done));
      assert.equal(err?.code, status.PERMISSION_DENIED);
      assert.deepEqual(err.metadata.get('im-error-code'), ['FORBIDDEN']);
    } finally {
      unary.close();
    }
    assert.equal(ran.length, before);
  });

  it("refuses push's certificate a method outside its row (WriteInbox) while its stream serves the rest", async () => {
    const push = client(ids.push);
    await assert.rejects(push.writeInbox({ entries: [{ user: 'u1', message }] }), {
      code: 'FORBIDDEN',
      message: /push role may not call \/im\.v1\.OfflineService\/WriteInbox/,
    });
    assert.equal((await push.getCursor({ user: 'u1', device: 'd' })).seq, 0);
    assert.ok(!ran.includes('writeInbox'));
  });

  it("lets logic's certificate deliver to a gateway, and refuses the gateway's own", async () => {
    const asRole = (identity: ServiceIdentity) => {
      const c = grpcClient(GatewayServiceService, gatewayAddress, {
        identity,
        serverRole: 'gateway',
        timeoutMs: 3_000,
      });
      started.push(c);
      return c;
    };
    const request = { items: [], rooms: [] };
    assert.equal((await asRole(ids.logic).deliver(request)).delivered, 1);
    await assert.rejects(asRole(ids.gateway).deliver(request), { code: 'FORBIDDEN' });
  });

  it('refuses a server whose certificate names another role than the one the client expects', async () => {
    await assert.rejects(client(ids.push, 'sync').getCursor({ user: 'u1', device: 'd' }), { code: 'UNAVAILABLE' });
  });
});
