import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { openSqlite } from '../lib/sqlite.ts';
import { TERM_SHIFT } from './seq-term-store.ts';
import { sequencerContract } from './sequencer.contract.ts';
import { SqliteSequencer } from './sequencer.sqlite.ts';
import { closeDatabase } from '../lib/group-commit.ts';
import { databaseFiles, memoryDatabase } from '../test/sqlite.ts';

const inFlightTtlMs = 300;
sequencerContract(
  'sqlite',
  () => {
    const { db, close } = memoryDatabase();
    return Promise.resolve({ sequencer: new SqliteSequencer(db, { inFlightTtlMs }), inFlightTtlMs, close });
  },
  { losesState: false },
);

describe('SqliteSequencer', () => {
  const newFile = databaseFiles('im-seq-');

  /** Runs one "process" on the file: a sequencer on a connection of its own, closed at the end. */
  const run = async <T>(file: string, body: (s: SqliteSequencer) => Promise<T>): Promise<T> => {
    const db = openSqlite(file);
    try {
      return await body(new SqliteSequencer(db, { inFlightTtlMs }));
    } finally {
      closeDatabase(db);
    }
  };

  it('never reuses a seq after the file is closed and reopened, and keeps heads and the epoch', async () => {
    const file = newFile();
    const first = await run(file, async (s) => {
      const seqs = await s.allocate(['a', 'b', 'a']);
      return { seqs, epoch: await s.epoch() };
    });
    assert.deepEqual(first.seqs, [1, 1, 2], 'a fresh file starts at 1');
    await run(file, async (s) => {
      assert.equal(await s.epoch(), first.epoch);
      assert.equal(await s.head('a'), 2);
      assert.equal(await s.head('b'), 1);
      assert.equal(await s.lowestInFlight('a'), undefined, 'no writer of the closed process is alive');
      const [a, b] = (await s.allocate(['a', 'b'])) as [number, number];
      assert.deepEqual([a, b], [TERM_SHIFT + 1, TERM_SHIFT + 1]);
      assert.equal(await s.head('a'), a);
    });
  });

  it('burns no term when a process hands out no seq', async () => {
    const file = newFile();
    await run(file, (s) => s.allocate(['a']));
    for (let i = 0; i < 3; i++) await run(file, (s) => s.epoch());
    assert.deepEqual(await run(file, (s) => s.allocate(['a'])), [TERM_SHIFT + 1]);
  });

  it('never reuses a seq when the last commits are lost (power loss under durability normal)', async () => {
    const file = newFile();
    const copy = newFile();
    const handedOut = await run(file, async (s) => {
      const seqs = await s.allocate(['a', 'b']);
      // What a power loss may leave: every commit up to the term's fsynced first allocation, none after.
      for (const suffix of ['', '-wal']) if (existsSync(file + suffix)) copyFileSync(file + suffix, copy + suffix);
      for (let i = 0; i < 5; i++) seqs.push(...(await s.allocate(['a', 'b'])));
      return seqs;
    });
    const after = await run(copy, (s) => s.allocate(['a', 'b']));
    for (const seq of after) assert.ok(seq > Math.max(...handedOut), `${seq} was handed out before the loss`);
  });
});
