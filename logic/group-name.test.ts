import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkGroupName } from './group-name.ts';

describe('group names', () => {
  it('keeps a plain name, trimmed of surrounding whitespace', () => {
    assert.equal(checkGroupName('  Team A  ', 10), 'Team A');
    assert.equal(checkGroupName('مرحبا\u200f', 10), 'مرحبا\u200f');
  });

  it('refuses empty, blank and invisible-only names', () => {
    for (const name of ['', '   ', '\u3000', '\u200b\u200d']) {
      assert.throws(() => checkGroupName(name, 10), {
        code: 'INVALID_ARGUMENT',
        message: 'group name must not be empty',
      });
    }
  });

  it('counts characters as code points, so an emoji counts one', () => {
    assert.equal(checkGroupName('😀'.repeat(10), 10), '😀'.repeat(10));
    assert.throws(() => checkGroupName('😀'.repeat(11), 10), {
      code: 'INVALID_ARGUMENT',
      message: 'group name must be at most 10 characters (got 11)',
    });
  });

  it('refuses control characters, line separators and bidi overrides, naming the one found', () => {
    for (const [name, code] of [
      ['a\u0000b', '0000'],
      ['a\nb', '000A'],
      ['a\tb', '0009'],
      ['a\u0085b', '0085'],
      ['a\u2028b', '2028'],
      ['a\u202eb', '202E'],
      ['a\u2066b', '2066'],
    ] as const) {
      assert.throws(() => checkGroupName(name, 10), {
        code: 'INVALID_ARGUMENT',
        message: new RegExp(`^group name must not contain .* \\(found U\\+${code}\\)$`),
      });
    }
  });
});
