import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { Cluster } from '../../app/cluster.ts';
import { CONTENT_SECURITY_POLICY } from '../../gateway/index.ts';
import { dmConversation } from '../../lib/conversation.ts';
import { clusterTarget, startTestCluster } from '../e2e/cluster-harness.ts';
import { connect, eventually, type TestClient } from '../e2e/harness.ts';
import { launchBrowser, pageProblems } from './browser.ts';
import { row, send, texts } from './chat-page.ts';

// The engines keep their data between runs: users of this run only.
const run = Date.now().toString(36);
const [gil, hal] = [`gil-${run}`, `hal-${run}`];

describe('the chat client served by a cluster gateway (IM_WEB_APP=1)', () => {
  let browser: Browser;
  let cluster: Cluster;
  let other: TestClient | undefined;
  before(async () => {
    [browser, cluster] = await Promise.all([launchBrowser(), startTestCluster({ IM_WEB_APP: '1' })]);
  });
  after(async () => {
    await other?.client.close();
    await browser.close();
    await cluster.close();
  });

  it('signs in with a pasted token (a cluster has no dev sign-in) and chats with a device on the other gateway', async () => {
    const [first, second] = cluster.gateways.map((g) => g.url.replace(/^ws/, 'http'));
    const res = await fetch(`${first}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.equal((await fetch(`${first}/v1/dev/token`, { method: 'POST', body: '{}' })).status, 404);

    const page = await (await browser.newContext()).newPage();
    const problems = pageProblems(page);
    await page.goto(first!);
    await page.getByTestId('sign-in-user').fill(gil);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('sign-in-token').waitFor({ state: 'visible' });
    await page.getByTestId('sign-in-token').fill(cluster.token(gil, 'web-pasted'));
    await page.getByTestId('sign-in').click();
    await page.getByTestId('connection').filter({ hasText: 'Online' }).waitFor();
    assert.equal(await page.getByTestId('me').textContent(), `${gil} · web-pasted`);

    other = await connect({ ...clusterTarget(cluster), urlFor: () => cluster.gateways[1]!.url }, hal, 'phone');
    assert.notEqual(first, second);
    await other.client.send({ user: gil }, { text: 'from the other gateway' });
    const conversation = row(page, dmConversation(gil, hal));
    await conversation.getByTestId('unread-badge').filter({ hasText: '1' }).waitFor();
    await conversation.click();
    await send(page, 'and back');
    await eventually(() => other!.texts().includes('and back'), 'the page’s message on the other gateway');
    assert.deepEqual(await texts(page), ['from the other gateway', 'and back']);
    assert.equal((await fetch(`${first}/admin`)).status, 200, 'the console is served beside it');
    // The one expected: Chromium logs the dev sign-in's 404 (which is how the page learns to ask for a token).
    assert.deepEqual(problems, [
      'console error: Failed to load resource: the server responded with a status of 404 (Not Found)',
    ]);
  });
});
