import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEV_ORIGINS, originAllowed } from './origin.ts';

describe('originAllowed', () => {
  it('allows the gateway’s own origin and refuses other sites by default', () => {
    assert.equal(originAllowed('http://chat.example.com:7400', 'chat.example.com:7400', []), true);
    assert.equal(originAllowed('https://evil.example', 'chat.example.com:7400', []), false);
    assert.equal(originAllowed('http://localhost:5173', '127.0.0.1:7400', []), false);
    assert.equal(originAllowed('null', '127.0.0.1:7400', []), false);
  });

  it('allows listed origins exactly, and any port where the entry says so', () => {
    const allowed = ['https://app.example.com', ...DEV_ORIGINS];
    assert.equal(originAllowed('https://app.example.com', 'gw:443', allowed), true);
    assert.equal(originAllowed('https://app.example.com:8443', 'gw:443', allowed), false);
    assert.equal(originAllowed('http://app.example.com', 'gw:443', allowed), false);
    assert.equal(originAllowed('http://localhost:5173', 'gw:443', allowed), true);
    assert.equal(originAllowed('http://127.0.0.1:3000', 'gw:443', allowed), true);
    assert.equal(originAllowed('https://localhost:5173', 'gw:443', allowed), false);
    assert.equal(originAllowed('http://localhost.evil.example:80', 'gw:443', allowed), false);
  });

  it('allows anything with *', () => {
    assert.equal(originAllowed('https://anywhere.example', 'gw', ['*']), true);
  });
});
