import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coalesce, sliceBySizes, type Merge } from './coalesce.ts';

/** Requests are lists of numbers; the callee doubles each and refuses negative numbers. */
const doubling = () => {
  const calls: number[][] = [];
  const call = (request: number[]) => {
    calls.push(request);
    if (request.some((n) => n < 0)) return Promise.reject(new Error(`refused ${request.join(',')}`));
    return Promise.resolve(request.map((n) => n * 2));
  };
  const merge: Merge<number[], number[]> = {
    join: (requests) => requests.flat(),
    split: (response, requests) =>
      sliceBySizes(
        response,
        requests.map((r) => r.length),
      ),
  };
  return { calls, call, merge };
};

describe('coalesce', () => {
  it('sends the calls of one turn as one merged call and gives each caller its own part', async () => {
    const { calls, call, merge } = doubling();
    const coalesced = coalesce(call, merge);
    const results = await Promise.all([coalesced([1]), coalesced([2, 3]), coalesced([4])]);
    assert.deepEqual(results, [[2], [4, 6], [8]]);
    assert.deepEqual(calls, [[1, 2, 3, 4]]);
  });

  it('calls again for requests made after a merged call went out', async () => {
    const { calls, call, merge } = doubling();
    const coalesced = coalesce(call, merge);
    assert.deepEqual(await coalesced([1]), [2]);
    assert.deepEqual(await coalesced([2]), [4]);
    assert.deepEqual(calls, [[1], [2]]);
  });

  it('when the merged call fails, tries each request alone: only the refused one fails', async () => {
    const { calls, call, merge } = doubling();
    const coalesced = coalesce(call, merge);
    const results = await Promise.allSettled([coalesced([1]), coalesced([-1]), coalesced([3])]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
      [[2], 'refused -1', [6]],
    );
    assert.deepEqual(calls, [[1, -1, 3], [1], [-1], [3]]);
  });

  it('merges at most maxBatch requests per call', async () => {
    const { calls, call, merge } = doubling();
    const coalesced = coalesce(call, merge, { maxBatch: 2 });
    await Promise.all([1, 2, 3, 4, 5].map((n) => coalesced([n])));
    assert.deepEqual(calls, [[1, 2], [3, 4], [5]]);
  });
});
