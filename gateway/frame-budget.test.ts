import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameBudget } from './frame-budget.ts';

describe('FrameBudget', () => {
  it('allows `frames` per window and refuses the rest of that window', () => {
    const budget = new FrameBudget();
    const taken = Array.from({ length: 5 }, (_, i) => budget.take(1_000 + i, 3, 1_000));
    assert.deepEqual(taken, [true, true, true, false, false]);
  });

  it('starts a new window once the last one has ended', () => {
    const budget = new FrameBudget();
    for (let i = 0; i < 4; i++) budget.take(1_000, 3, 1_000);
    assert.equal(budget.take(1_999, 3, 1_000), false, 'still the first window');
    assert.equal(budget.take(2_000, 3, 1_000), true, 'a new window');
    assert.equal(budget.take(2_001, 3, 1_000), true);
    assert.equal(budget.take(2_002, 3, 1_000), true);
    assert.equal(budget.take(2_003, 3, 1_000), false);
  });
});
