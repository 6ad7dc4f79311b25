import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { NonceStore } from './nonce-store.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A nonce of the alphabet request-signature.ts accepts. */
const freshNonce = () => randomUUID().replaceAll('-', '_');

export function nonceStoreContract(
  adapter: string,
  setup: () => Promise<{ store: NonceStore; close: () => Promise<void> }>,
): void {
  describe(`NonceStore contract: ${adapter}`, () => {
    let store: NonceStore;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await setup()));
    after(() => close());

    it('answers false the first time a nonce is seen and true every time after, within its TTL', async () => {
      const nonce = freshNonce();
      assert.equal(await store.seen('app-a', nonce, 10_000), false);
      assert.equal(await store.seen('app-a', nonce, 10_000), true);
      assert.equal(await store.seen('app-a', nonce, 10_000), true);
    });

    it('keeps the nonces of each app apart, and each nonce apart', async () => {
      const [n1, n2] = [freshNonce(), freshNonce()];
      assert.equal(await store.seen('app-a', n1, 10_000), false);
      assert.equal(await store.seen('app-b', n1, 10_000), false);
      assert.equal(await store.seen('app-a', n2, 10_000), false);
      assert.equal(await store.seen('app-b', n1, 10_000), true);
    });

    it('answers false to exactly one of 50 concurrent calls for one nonce', async () => {
      const nonce = freshNonce();
      const answers = await Promise.all(Array.from({ length: 50 }, () => store.seen('app-a', nonce, 10_000)));
      assert.equal(answers.filter((seen) => !seen).length, 1);
    });

    it('forgets a nonce after its TTL, then records it again', async () => {
      const nonce = freshNonce();
      assert.equal(await store.seen('app-a', nonce, 200), false);
      await sleep(350);
      assert.equal(await store.seen('app-a', nonce, 10_000), false);
      assert.equal(await store.seen('app-a', nonce, 10_000), true);
    });

    it('does not extend a nonce’s expiry when it is seen again', async () => {
      const nonce = freshNonce();
      assert.equal(await store.seen('app-a', nonce, 500), false);
      await sleep(250);
      assert.equal(await store.seen('app-a', nonce, 500), true);
      await sleep(400);
      assert.equal(await store.seen('app-a', nonce, 500), false);
    });
  });
}
