import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SeqTermStore } from './seq-term-store.ts';

/**
 * The behaviour every SeqTermStore adapter promises. `open` returns a handle on one fresh backing row; calling it
 * again returns another handle on the same row (another process, in effect), or the same object where the
 * adapter has no such notion.
 */
export function seqTermStoreContract(
  adapter: string,
  setup: () => Promise<{ open: () => SeqTermStore; close: () => Promise<void> }>,
): void {
  describe(`SeqTermStore contract: ${adapter}`, () => {
    let open: () => SeqTermStore;
    let close: () => Promise<void>;
    before(async () => ({ open, close } = await setup()));
    after(() => close());

    it('has a positive generation that every handle agrees on and that stays put', async () => {
      const generations = await Promise.all([open(), open(), open()].map((s) => s.generation()));
      const [first] = generations;
      assert.ok(Number.isSafeInteger(first) && first! > 0, `generation ${first}`);
      assert.deepEqual(generations, [first, first, first]);
      const store = open();
      await store.advance(await store.current());
      assert.equal(await open().generation(), first);
    });

    it('starts at a positive term', async () => {
      const term = await open().current();
      assert.ok(Number.isSafeInteger(term) && term >= 1, `term ${term}`);
    });

    it('moves the term past seen, once, however many callers saw it at the same time', async () => {
      const seen = await open().current();
      const handles = Array.from({ length: 6 }, () => open());
      const terms = await Promise.all(handles.map((s) => s.advance(seen)));
      assert.deepEqual(terms, Array<number>(6).fill(seen + 1));
      assert.equal(await open().current(), seen + 1);
    });

    it('remembers the highest term marked used, never moving back', async () => {
      const store = open();
      const term = await store.current();
      await store.markUsed(term);
      await open().markUsed(term - 1);
      assert.equal(await open().lastUsed(), term);
      await store.markUsed(term + 1);
      assert.equal(await store.lastUsed(), term + 1);
    });

    it('does not move the term again for a caller that saw an older one', async () => {
      const store = open();
      const seen = await store.current();
      assert.equal(await store.advance(seen), seen + 1);
      assert.equal(await store.advance(seen), seen + 1);
      assert.equal(await open().advance(seen + 1), seen + 2);
      assert.equal(await store.current(), seen + 2);
    });
  });
}
