import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadLetterStoreContract } from './dead-letter-store.contract.ts';
import { MemoryDeadLetterStore } from './dead-letter-store.memory.ts';
import { DEFAULT_DEAD_LETTER_CAPACITY } from './dead-letter-store.ts';

deadLetterStoreContract('memory', ({ capacity }) =>
  Promise.resolve({ store: new MemoryDeadLetterStore(capacity), close: () => Promise.resolve() }),
);

describe('MemoryDeadLetterStore', () => {
  it(`keeps ${DEFAULT_DEAD_LETTER_CAPACITY} by default`, async () => {
    const store = new MemoryDeadLetterStore();
    const letter = (i: number) => ({
      id: `id-${String(i).padStart(5, '0')}`,
      user: 'ann',
      device: 'phone',
      push: {
        id: `id-${i}`,
        target: { platform: 'apns' as const, token: 't', topic: 'com.example.im', environment: 'production' as const },
        badge: 1,
        collapseId: 'c',
        priority: 'normal' as const,
        expireAtMs: 0,
        data: {},
      },
      reason: 'ServiceUnavailable',
      attempts: 5,
      atMs: i,
    });
    for (let i = 0; i <= DEFAULT_DEAD_LETTER_CAPACITY; i++) await store.add(letter(i));
    const first = await store.list('', 1);
    assert.equal(first.items[0]!.id, 'id-00001');
    const last = await store.list('id-09999', 10);
    assert.deepEqual(
      last.items.map((l) => l.id),
      ['id-10000'],
    );
  });
});
