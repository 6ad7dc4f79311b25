import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chartPath } from './chart-path.ts';

describe('a chart line as an SVG path', () => {
  const size = { width: 100, height: 50, pad: 0 };

  it('has one point per value, the largest at the top and zero at the bottom', () => {
    assert.equal(chartPath([0, 5, 10], size), 'M0.0 50.0 L50.0 25.0 L100.0 0.0');
  });

  it('draws a flat line at the bottom for all zeros, and nothing for no values', () => {
    assert.equal(chartPath([0, 0], size), 'M0.0 50.0 L100.0 50.0');
    assert.equal(chartPath([], size), '');
  });

  it('keeps inside the padding', () => {
    assert.equal(chartPath([4], { width: 100, height: 50, pad: 2 }), 'M2.0 2.0');
  });
});
