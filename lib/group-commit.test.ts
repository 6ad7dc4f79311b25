import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GroupCommit } from './group-commit.ts';
import { openSqlite } from './sqlite.ts';

function table() {
  const path = join(mkdtempSync(join(tmpdir(), 'im-gc-')), 'db');
  const db = openSqlite(path);
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  const insert = db.prepare<[string, number]>('INSERT INTO t (k, v) VALUES (?, ?)');
  const count = () => (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
  return { db, path, insert, count };
}

describe('GroupCommit', () => {
  it('commits the writes of one turn together and tells each writer only after the commit', async () => {
    const { db, path, insert } = table();
    const commit = new GroupCommit(db);
    const writes = [1, 2, 3].map((v) => commit.write(() => insert.run(`k${v}`, v).changes));
    assert.equal(db.inTransaction, true, 'one transaction open for the turn');
    const other = openSqlite(path);
    assert.equal((other.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 0, 'nothing committed yet');
    assert.deepEqual(await Promise.all(writes), [1, 1, 1]);
    assert.equal(db.inTransaction, false);
    assert.equal((other.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 3, 'all three committed');
  });

  it('takes back only the write that throws', async () => {
    const { db, insert, count } = table();
    const commit = new GroupCommit(db);
    const ok = commit.write(() => insert.run('a', 1));
    const failed = commit.write(() => {
      insert.run('b', 2);
      insert.run('a', 3); // duplicate key: this write's own 'b' goes too
    });
    await assert.rejects(failed);
    await ok;
    assert.equal(count(), 1);
  });

  it('rejects every write of a turn whose commit cannot happen', async () => {
    const { db, insert } = table();
    const commit = new GroupCommit(db);
    const writes = [commit.write(() => insert.run('x', 1)), commit.write(() => insert.run('y', 2))];
    db.exec('ROLLBACK'); // the transaction is gone before its commit
    db.close();
    for (const w of writes) await assert.rejects(w);
  });

  it('stages writes for a caller that waits for durable(): seen at once, committed with the turn', async () => {
    const { db, path, insert, count } = table();
    const commit = new GroupCommit(db);
    assert.equal(await commit.staged(() => insert.run('s', 1).changes), 1, 'answered before the commit');
    assert.equal(count(), 1, 'this connection sees it');
    const other = openSqlite(path);
    const committed = () => (other.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
    assert.equal(committed(), 0);
    await commit.durable();
    assert.equal(committed(), 1);
    await commit.durable(); // nothing open: at once
  });
});
