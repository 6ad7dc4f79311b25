import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameBudget, type FrameLimits } from './frame-budget.ts';

const limits: FrameLimits = { frames: 3, bytes: 1_000, windowMs: 1_000 };

describe('FrameBudget', () => {
  it('takes `frames` per window, refuses the first frame over with a reply and drops the rest of the window', () => {
    const budget = new FrameBudget();
    const verdicts = Array.from({ length: 6 }, (_, i) => budget.charge(1_000 + i, 10, limits));
    assert.deepEqual(verdicts, ['take', 'take', 'take', 'refuse', 'drop', 'drop']);
  });

  it('charges bytes as well as frames', () => {
    const budget = new FrameBudget();
    assert.equal(budget.charge(1_000, 600, limits), 'take');
    assert.equal(budget.charge(1_001, 600, limits), 'refuse', 'over 1,000 bytes in the window');
    assert.equal(budget.charge(1_002, 1, limits), 'drop');
  });

  it('starts a new window once the last one has ended, refusals forgotten', () => {
    const budget = new FrameBudget();
    for (let i = 0; i < 5; i++) budget.charge(1_000, 10, limits);
    assert.equal(budget.charge(1_999, 10, limits), 'drop', 'still the first window');
    assert.equal(budget.msLeft(1_999), 1);
    assert.deepEqual(
      [2_000, 2_001, 2_002, 2_003].map((t) => budget.charge(t, 10, limits)),
      ['take', 'take', 'take', 'refuse'],
    );
  });

  it('closes a connection that keeps sending what it is refused, rate-limited or refused for what it is', () => {
    const budget = new FrameBudget();
    assert.deepEqual(
      [1, 2, 3].map(() => budget.refuse(limits)),
      ['refuse', 'refuse', 'refuse'],
    );
    assert.equal(budget.refuse(limits), 'close');
    const flooded = new FrameBudget();
    const verdicts = Array.from({ length: 7 }, () => flooded.charge(1_000, 1, limits));
    assert.deepEqual(verdicts, ['take', 'take', 'take', 'refuse', 'drop', 'drop', 'close']);
  });
});
