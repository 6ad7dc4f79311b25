import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImError } from '../lib/errors.ts';
import { msg, stored } from './entries.fixture.ts';
import { entriesOfRecord, searchRecordsOf } from './search-input.ts';

const ref = (serverMsgId: string) => ({ fromDevice: 'phone', clientMsgId: 'c1', serverMsgId });

describe('search_input records', () => {
  it("carries a group message once with every inbox, keyed by its id, and gives back the write's entries", () => {
    const entries = stored(msg({ conversation: 'group:g1' }), [
      ['ann', 3],
      ['bob', 9],
      ['cid', 1],
    ]);
    const records = searchRecordsOf(entries);
    assert.equal(records.length, 1);
    assert.equal(records[0]!.key, '01JEXAMPLE0000000000000001');
    assert.deepEqual(entriesOfRecord(records[0]!.value), entries);
  });

  it('keys an edit and a recall by their target, and publishes nothing the index ignores', () => {
    const edit = msg({ serverMsgId: 'E1', op: { kind: { $case: 'edit', value: ref('T1') } } });
    const recall = msg({
      serverMsgId: 'R1',
      body: Buffer.alloc(0),
      op: { kind: { $case: 'recall', value: ref('T2') } },
    });
    const read = msg({
      serverMsgId: 'M1',
      op: { kind: { $case: 'read', value: { conversation: 'dm:ann:bob', seq: 3, stream: 'inbox', unread: 0 } } },
    });
    const image = msg({ serverMsgId: 'I1', contentType: 'image/png' });
    const keys = searchRecordsOf([
      ...stored(edit, [['ann', 4]]),
      ...stored(recall, [['ann', 5]]),
      ...stored(read, [['ann', 6]]),
      ...stored(image, [['ann', 7]]),
    ]).map((r) => r.key);
    assert.deepEqual(keys, ['T1', 'T2']);
  });

  it('refuses a record without a message as a poison record', () => {
    assert.throws(
      () => entriesOfRecord(new Uint8Array(0)),
      (err: unknown) => err instanceof ImError,
    );
    assert.throws(() => entriesOfRecord(Buffer.from([0xff, 0xff, 0xff])));
  });
});
