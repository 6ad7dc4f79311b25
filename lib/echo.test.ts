import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { echo } from './echo.ts';

describe('echo: client values in error messages', () => {
  it('quotes a short value whole', () => {
    assert.equal(echo('alice'), '"alice"');
    assert.equal(echo(''), '""');
  });

  it('cuts a long value to 40 characters and says how long it was', () => {
    const shown = echo('x'.repeat(60_000));
    assert.equal(shown, `"${'x'.repeat(40)}"… (60000 characters)`);
  });

  it('counts characters, not UTF-16 units, and never splits a surrogate pair', () => {
    assert.equal(echo('😀'.repeat(40)), `"${'😀'.repeat(40)}"`);
    assert.equal(echo('😀'.repeat(41)), `"${'😀'.repeat(40)}"… (41 characters)`);
  });

  it('escapes controls, separators and bidi overrides so the message reads as written', () => {
    assert.equal(echo('a\u0000b\nc'), '"a\\u0000b\\nc"');
    assert.equal(echo('a\u202eb\u2028c\u0085'), '"a\\u202eb\\u2028c\\u0085"');
  });
});
