import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import type { SyncResponse } from '../proto/gen/im/v1/client.pb.ts';
import { SyncServiceClient } from '../proto/gen/im/v1/services.pb.ts';
import { OfflineServiceService } from '../offline/index.ts';
import { MemoryInboxStore } from '../offline/inbox-store.memory.ts';
import { MemorySequencer } from '../offline/sequencer.memory.ts';
import { Sync, SyncServiceService, type SyncApi } from '../sync/index.ts';
import { ImError } from './errors.ts';
import { addApi, clientCredentials, grpcClient, secureChannelOptions, serveGrpc } from './grpc.ts';
import type { Closeable } from './lifecycle.ts';
import { closeAll } from './lifecycle.ts';
import { memoryOffline } from '../test/offline.ts';
import { anyCaller, testIdentities } from '../test/service-identities.ts';
import type { ServiceIdentity } from './service-identity.ts';

let identity: ServiceIdentity;
before(async () => {
  identity = (await testIdentities('test')).test;
});
const serving = () => ({ identity, callers: anyCaller });

const sample = {
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
  seq: 0,
  stream: 'inbox',
  sentAtMs: 1,
  contentType: 'text/plain',
  body: Buffer.from('hi'),
};

describe('a service API called directly and through loopback gRPC behaves the same', () => {
  const offline = memoryOffline({ sequencer: new MemorySequencer(), inbox: new MemoryInboxStore(1000) });
  const direct = new Sync(offline);
  let remote: SyncApi;
  let address = '';
  const started: Closeable[] = [];
  before(async () => {
    const server = await serveGrpc((s) => {
      addApi(s, SyncServiceService, direct);
      addApi(s, OfflineServiceService, offline);
    }, serving());
    address = server.address;
    const client = grpcClient(SyncServiceService, server.address, { identity, serverRole: 'test' });
    started.push(server, client);
    remote = client;
  });
  after(() => closeAll(started));

  it('returns equal results for equal calls', async () => {
    const { seqs } = await offline.allocateSeqs({ users: ['u1'] });
    const seq = seqs[0]!;
    const message = { ...sample, seq };
    await offline.writeInbox({ entries: [{ user: 'u1', message }] });
    for (const api of [direct, remote]) {
      const page = await api.getDiff({ user: 'u1', device: 'd1', syncKey: '', limit: 10 });
      assert.deepEqual(page.messages, [message]);
      assert.equal(page.hasMore, false);
      const acked = await api.ack({ user: 'u1', device: 'd1', syncKey: page.syncKey, inboxSeq: seq, streams: [] });
      assert.equal(acked.inboxSeq, seq);
    }
  });

  it('carries the stable error code and message across gRPC', async () => {
    for (const api of [direct, remote]) {
      await assert.rejects(
        api.getDiff({ user: 'u1', device: 'd1', syncKey: '!!garbled!!', limit: 10 }),
        (err: unknown) => {
          assert.ok(err instanceof ImError);
          assert.equal(err.code, 'BAD_SYNC_KEY');
          return true;
        },
      );
    }
  });

  it('still serves every method as a plain unary call, error codes in the metadata', async () => {
    const unary = new SyncServiceClient(address, clientCredentials(identity, 'test'), secureChannelOptions('test'));
    try {
      const page = await new Promise<SyncResponse>((resolve, reject) =>
        unary.getDiff({ user: 'u1', device: 'd2', syncKey: '', limit: 10 }, (err, res) =>
          err ? reject(err) : resolve(res),
        ),
      );
      assert.equal(page.messages.length, 1);
      const err = await new Promise<ServiceError>((resolve) =>
        unary.getDiff({ user: 'u1', device: 'd2', syncKey: '!!garbled!!', limit: 10 }, new Metadata(), (e) =>
          resolve(e!),
        ),
      );
      assert.deepEqual(err.metadata.get('im-error-code'), ['BAD_SYNC_KEY']);
    } finally {
      unary.close();
    }
  });

  it('matches each answer to its call when many share the stream', async () => {
    const users = Array.from({ length: 200 }, (_, i) => `many${i}`);
    const { seqs } = await offline.allocateSeqs({ users });
    await offline.writeInbox({
      entries: users.map((user, i) => ({ user, message: { ...sample, seq: seqs[i]!, body: Buffer.from(user) } })),
    });
    const answers = await Promise.all(
      users.map((user) => remote.getDiff({ user, device: 'd', syncKey: '', limit: 5 })),
    );
    assert.deepEqual(
      answers.map((a) => a.messages.map((m) => Buffer.from(m.body).toString())),
      users.map((user) => [user]),
    );
  });

  it('turns an unreachable service into UNAVAILABLE, not a hang', async () => {
    const dead = grpcClient(SyncServiceService, '127.0.0.1:1', { identity, serverRole: 'test', timeoutMs: 2_000 });
    await assert.rejects(dead.getDiff({ user: 'u1', device: 'd1', syncKey: '', limit: 1 }), { code: 'UNAVAILABLE' });
    await dead.close();
  });
});

describe('the call stream under a server that stops', () => {
  /** A SyncApi whose getDiff answers when `release` is called (or never). */
  function held() {
    let release = () => undefined as void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const offline = memoryOffline({ sequencer: new MemorySequencer(), inbox: new MemoryInboxStore(10) });
    const sync = new Sync(offline);
    const impl = Object.assign(Object.create(sync) as Sync, {
      getDiff: async (request: Parameters<Sync['getDiff']>[0]) => {
        await gate;
        return sync.getDiff(request);
      },
    });
    return { impl, release };
  }

  it('answers the calls in flight before the server closes, and fails later calls UNAVAILABLE', async () => {
    const { impl, release } = held();
    const server = await serveGrpc((s) => addApi(s, SyncServiceService, impl), serving());
    const client = grpcClient(SyncServiceService, server.address, { identity, serverRole: 'test', timeoutMs: 5_000 });
    try {
      const inFlight = client.getDiff({ user: 'u', device: 'd', syncKey: '', limit: 1 });
      await client.ack({ user: 'u', device: 'd', syncKey: '', inboxSeq: 0, streams: [] }); // the stream is open
      const closing = server.close();
      setTimeout(release, 50);
      assert.equal((await inFlight).hasMore, false);
      await closing;
      await assert.rejects(client.getDiff({ user: 'u', device: 'd', syncKey: '', limit: 1 }), {
        code: 'UNAVAILABLE',
      });
    } finally {
      release();
      await client.close();
      await server.close();
    }
  });

  it('fails a call with no answer within the deadline as UNAVAILABLE', async () => {
    const { impl, release } = held();
    const server = await serveGrpc((s) => addApi(s, SyncServiceService, impl), serving());
    const client = grpcClient(SyncServiceService, server.address, { identity, serverRole: 'test', timeoutMs: 300 });
    try {
      await assert.rejects(client.getDiff({ user: 'u', device: 'd', syncKey: '', limit: 1 }), {
        code: 'UNAVAILABLE',
        message: /no answer within 300 ms/,
      });
    } finally {
      release();
      await client.close();
      await server.close();
    }
  });

  it('opens a new stream to a server restarted on the same port', async () => {
    const offline = memoryOffline({ sequencer: new MemorySequencer(), inbox: new MemoryInboxStore(10) });
    const first = await serveGrpc((s) => addApi(s, OfflineServiceService, offline), serving());
    const port = Number(first.address.split(':')[1]);
    const client = grpcClient(OfflineServiceService, first.address, { identity, serverRole: 'test', timeoutMs: 5_000 });
    let second: Closeable | undefined;
    try {
      assert.equal((await client.getCursor({ user: 'u', device: 'd' })).seq, 0);
      await first.close();
      await assert.rejects(client.getCursor({ user: 'u', device: 'd' }), { code: 'UNAVAILABLE' });
      second = await serveGrpc((s) => addApi(s, OfflineServiceService, offline), { ...serving(), port });
      // The channel reconnects with backoff: the first calls may still find it down.
      let answered = false;
      for (let i = 0; i < 50 && !answered; i++) {
        answered = await client.getCursor({ user: 'u', device: 'd' }).then(
          () => true,
          () => new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 100)),
        );
      }
      assert.ok(answered, 'no answer from the restarted server within 5 s');
    } finally {
      await client.close();
      await second?.close();
    }
  });
});
