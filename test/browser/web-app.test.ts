import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { CONTENT_SECURITY_POLICY } from '../../gateway/index.ts';
import { launchBrowser, pageProblems, startWebServer } from './browser.ts';

describe('the web pages as served (embedded)', () => {
  let browser: Browser;
  let web: Awaited<ReturnType<typeof startWebServer>>;
  before(async () => {
    [browser, web] = await Promise.all([launchBrowser(), startWebServer()]);
  });
  after(async () => {
    await browser.close();
    await web.server.close();
  });

  for (const path of ['/', '/admin']) {
    it(`serves ${path} under a policy that allows nothing from elsewhere, its bundles cached for good`, async () => {
      const res = await fetch(`${web.url}${path}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      const html = await res.text();
      const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
      assert.ok(assets.length >= 1, 'the page names its bundle');
      for (const asset of assets) {
        const a = await fetch(`${web.url}${asset}`);
        assert.equal(a.status, 200, asset);
        assert.equal(a.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      }
      const page = await browser.newPage();
      const problems = pageProblems(page);
      await page.goto(`${web.url}${path}`);
      await page.waitForLoadState('networkidle');
      assert.deepEqual(problems, []);
      await page.close();
    });
  }

  it('refuses other methods, and paths outside the bundle list', async () => {
    assert.equal((await fetch(`${web.url}/`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${web.url}/assets/..%2Fchat.html`)).status, 404);
    assert.equal((await fetch(`${web.url}/assets/nothing.js`)).status, 404);
  });

  it('signs a dev token for this machine, and refuses a bad id with the field named', async () => {
    const ok = await fetch(`${web.url}/v1/dev/token`, {
      method: 'POST',
      body: JSON.stringify({ user: 'ann', device: 'web' }),
    });
    assert.equal(ok.status, 200);
    const { token } = (await ok.json()) as { token: string };
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const bad = await fetch(`${web.url}/v1/dev/token`, {
      method: 'POST',
      body: JSON.stringify({ user: '../x', device: 'web' }),
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { field?: string }).field, 'user');
    assert.equal((await fetch(`${web.url}/v1/dev/token`)).status, 405);
  });
});
