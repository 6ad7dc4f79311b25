import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { message } from '../test/fixtures.ts';
import { memoryOffline } from '../test/offline.ts';
import { MemoryInboxStore } from './inbox-store.memory.ts';

describe('Offline reads, racing sends', () => {
  it('never returns an entry allocated after its bounds were read, so no lower seq still in flight is passed', async () => {
    // Between a read's bounds (head 1, nothing in flight) and its inbox query, two sends allocate seqs 2 and 3, and
    // only 3 is written. Returning 3 would move the reader past 2, which is written a moment later: stored, and
    // never synced from that reader's key (the chaos run found one so, after Redis was wiped).
    const inbox = new MemoryInboxStore();
    const offline = memoryOffline({ inbox });
    const write = async (user: string, seq: number) =>
      offline.writeInbox({ entries: [{ user, message: message(seq) }] });
    const [first] = (await offline.allocateSeqs({ users: ['ann'] })).seqs;
    await write('ann', first!);
    const read = inbox.read.bind(inbox);
    const readEncoded = inbox.readEncoded.bind(inbox);
    let raced = false;
    const race = async () => {
      if (raced) return;
      raced = true;
      await offline.allocateSeqs({ users: ['ann'] });
      const [third] = (await offline.allocateSeqs({ users: ['ann'] })).seqs;
      await write('ann', third!);
    };
    inbox.read = async (...args) => (await race(), read(...args));
    inbox.readEncoded = async (...args) => (await race(), readEncoded(...args));

    const page = await offline.readInboxEncoded({ user: 'ann', afterSeq: 0, limit: 10 });
    assert.deepEqual(page.seqs, [first]);
    assert.equal(page.throughSeq, first);
    raced = false;
    const decoded = await offline.readInbox({ user: 'ann', afterSeq: 0, limit: 10 });
    assert.deepEqual(
      decoded.messages.map((m) => m.seq),
      [first],
    );
  });
});
