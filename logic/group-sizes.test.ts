import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { GroupSizes } from './group-sizes.ts';

function countingStore(sizes: Map<string, number>) {
  const reads: string[] = [];
  return {
    reads,
    count: async (groupId: string) => {
      reads.push(groupId);
      await sleep(5);
      return sizes.get(groupId) ?? 0;
    },
  };
}

describe('GroupSizes', () => {
  it('reads a group once for many concurrent askers, and again after the ttl', async () => {
    const sizes = new Map([['g1', 300]]);
    const store = countingStore(sizes);
    const cache = new GroupSizes(store, { ttlMs: 50 });
    assert.deepEqual(await Promise.all(Array.from({ length: 100 }, () => cache.count('g1'))), Array(100).fill(300));
    assert.deepEqual(store.reads, ['g1']);
    sizes.set('g1', 301);
    assert.equal(await cache.count('g1'), 300, 'within the ttl the count read is used');
    await sleep(80);
    assert.equal(await cache.count('g1'), 301);
    assert.deepEqual(store.reads, ['g1', 'g1']);
  });

  it("uses this process's own changes at once", async () => {
    const store = countingStore(new Map([['g1', 10]]));
    const cache = new GroupSizes(store, { ttlMs: 60_000 });
    assert.equal(await cache.count('g1'), 10);
    cache.changed('g1', 250);
    assert.equal(await cache.count('g1'), 250);
    cache.changed('g1', 0);
    assert.equal(await cache.count('g1'), 0);
    assert.equal(await cache.count('unknown'), 0);
    assert.deepEqual(store.reads, ['g1', 'unknown']);
  });
});
