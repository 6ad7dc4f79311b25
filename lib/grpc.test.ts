import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Offline, OfflineServiceService } from '../offline/index.ts';
import { MemoryInboxStore } from '../offline/inbox-store.memory.ts';
import { MemorySequencer } from '../offline/sequencer.memory.ts';
import { Sync, SyncServiceService, type SyncApi } from '../sync/index.ts';
import { ImError } from './errors.ts';
import { addApi, grpcClient, serveGrpc } from './grpc.ts';
import type { Closeable } from './lifecycle.ts';
import { closeAll } from './lifecycle.ts';

describe('a service API called directly and through loopback gRPC behaves the same', () => {
  const offline = new Offline(new MemorySequencer(), new MemoryInboxStore(1000));
  const direct = new Sync(offline);
  let remote: SyncApi;
  const started: Closeable[] = [];
  before(async () => {
    const server = await serveGrpc((s) => {
      addApi(s, SyncServiceService, direct);
      addApi(s, OfflineServiceService, offline);
    });
    const client = grpcClient(SyncServiceService, server.address);
    started.push(server, client);
    remote = client;
  });
  after(() => closeAll(started));

  it('returns equal results for equal calls', async () => {
    const { seqs } = await offline.allocateSeqs({ users: ['u1'] });
    const seq = seqs[0]!;
    const message = {
      prevSeq: 0,
      streamIndex: 0,
      op: undefined,
      serverMsgId: 'm1',
      conversation: 'dm:u0:u1',
      fromUser: 'u0',
      fromDevice: 'd',
      clientMsgId: 'c1',
      seq,
      stream: 'inbox',
      sentAtMs: 1,
      contentType: 'text/plain',
      body: Buffer.from('hi'),
    };
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

  it('turns an unreachable service into UNAVAILABLE, not a hang', async () => {
    const dead = grpcClient(SyncServiceService, '127.0.0.1:1', { timeoutMs: 2_000 });
    await assert.rejects(dead.getDiff({ user: 'u1', device: 'd1', syncKey: '', limit: 1 }), { code: 'UNAVAILABLE' });
    await dead.close();
  });
});
