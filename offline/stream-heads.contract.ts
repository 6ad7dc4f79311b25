import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { StreamHeads } from './stream-heads.ts';

export function streamHeadsContract(
  adapter: string,
  setup: () => Promise<{ heads: StreamHeads; close: () => Promise<void> }>,
): void {
  describe(`StreamHeads contract: ${adapter}`, () => {
    let heads: StreamHeads;
    let close: () => Promise<void>;
    before(async () => ({ heads, close } = await setup()));
    after(() => close());

    it('keeps the entry with the highest seq per stream, never moving back, and zeros for unknown streams', async () => {
      const [a, b] = [`g:${randomUUID()}`, `g:${randomUUID()}`];
      await heads.advance([
        { stream: a, seq: 5, index: 4 },
        { stream: b, seq: 2 ** 33 + 1, index: 1 },
      ]);
      await heads.advance([{ stream: a, seq: 3, index: 2 }]);
      await heads.advance([{ stream: b, seq: 2 ** 33 + 2, index: 1 }]); // an operation: the index stays
      assert.deepEqual(await heads.heads([a, b, `g:${randomUUID()}`]), [
        { seq: 5, index: 4 },
        { seq: 2 ** 33 + 2, index: 1 },
        { seq: 0, index: 0 },
      ]);
    });
  });
}
