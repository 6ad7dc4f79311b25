import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nonceStoreContract } from './nonce-store.contract.ts';
import { MemoryNonceStore } from './nonce-store.memory.ts';

nonceStoreContract('memory', () => Promise.resolve({ store: new MemoryNonceStore(), close: () => Promise.resolve() }));

describe('MemoryNonceStore', () => {
  it('drops expired nonces, so it holds only what the TTL keeps', async () => {
    let now = 1_000_000;
    const store = new MemoryNonceStore(() => now);
    for (let i = 0; i < 1_000; i++) await store.seen('app', `nonce-${i}`.padEnd(16, '_'), 60_000);
    assert.equal(store.size, 1_000);
    now += 60_000;
    assert.equal(await store.seen('app', 'nonce-0'.padEnd(16, '_'), 60_000), false);
    assert.equal(store.size, 1);
  });
});
