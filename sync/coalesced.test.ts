import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AckManyRequest, SyncAckRequest } from '../proto/gen/im/v1/services.pb.ts';
import { coalescedSync } from './coalesced.ts';
import type { SyncApi } from './index.ts';

/** The two ack methods of sync, answering with the device's inbox seq, counting calls. */
function ackingSync() {
  const calls: string[] = [];
  const ack = ({ device, syncKey, inboxSeq }: SyncAckRequest) => {
    if (syncKey === 'bad') return Promise.reject(new Error('BAD_SYNC_KEY'));
    return Promise.resolve({ syncKey: `${device}:${inboxSeq}`, inboxSeq });
  };
  const sync = {
    ack: (r: SyncAckRequest) => (calls.push('ack'), ack(r)),
    ackMany: async ({ requests }: AckManyRequest) => {
      calls.push('ackMany');
      return { results: await Promise.all(requests.map(ack)) };
    },
  } as unknown as SyncApi;
  return { sync, calls };
}

const request = (device: string, inboxSeq: number, syncKey = 'k'): SyncAckRequest => ({
  user: 'u',
  device,
  syncKey,
  inboxSeq,
  streams: [],
});

describe('coalesced calls to sync', () => {
  it('answers the acks of one turn with one AckMany, each caller its own result', async () => {
    const { sync, calls } = ackingSync();
    const coalesced = coalescedSync(sync);
    const results = await Promise.all([coalesced.ack(request('a', 1)), coalesced.ack(request('b', 2))]);
    assert.deepEqual(results, [
      { syncKey: 'a:1', inboxSeq: 1 },
      { syncKey: 'b:2', inboxSeq: 2 },
    ]);
    assert.deepEqual(calls, ['ackMany']);
    assert.deepEqual(await coalesced.ack(request('c', 3)), { syncKey: 'c:3', inboxSeq: 3 });
    assert.deepEqual(calls, ['ackMany', 'ack'], 'a lone ack goes out as itself');
  });

  it('fails only the caller whose ack is refused', async () => {
    const { sync } = ackingSync();
    const coalesced = coalescedSync(sync);
    const [good, bad] = await Promise.allSettled([
      coalesced.ack(request('a', 1)),
      coalesced.ack(request('b', 2, 'bad')),
    ]);
    assert.deepEqual(good, { status: 'fulfilled', value: { syncKey: 'a:1', inboxSeq: 1 } });
    assert.equal(bad.status, 'rejected');
  });
});
