import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { connect, type TestClient } from '../e2e/harness.ts';
import { launchBrowser, pageProblems, startWebServer } from './browser.ts';
import { openDirect, row, send, signedInPage, texts } from './chat-page.ts';

const DM_ANN_BOB = 'dm:ann:bob';

/** Waits until the open conversation shows exactly `expected` (polled: the page redraws once per frame). */
async function expectTexts(page: Page, expected: string[], what: string): Promise<void> {
  let last: string[] = [];
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    last = await texts(page);
    if (JSON.stringify(last) === JSON.stringify(expected)) return;
    await page.waitForTimeout(50);
  }
  assert.deepEqual(last, expected, what);
}

describe('the chat client in a real browser (embedded)', () => {
  let browser: Browser;
  let web: Awaited<ReturnType<typeof startWebServer>>;
  const clients: TestClient[] = [];
  before(async () => {
    [browser, web] = await Promise.all([launchBrowser(), startWebServer()]);
  });
  after(async () => {
    for (const c of clients) await c.client.close();
    await browser.close();
    await web.server.close();
  });

  it('two users chat in two browser contexts, each way, with unread badges and the last message in the list', async () => {
    const ann = await signedInPage(browser, web.url, 'ann');
    const bob = await signedInPage(browser, web.url, 'bob');
    await openDirect(ann.page, 'bob');
    await send(ann.page, 'hello bob');
    await ann.page.locator('[data-testid="message"][data-status="sent"]').waitFor();

    const annRow = row(bob.page, DM_ANN_BOB);
    await annRow.getByTestId('unread-badge').filter({ hasText: '1' }).waitFor();
    assert.equal(await annRow.getByTestId('conversation-preview').textContent(), 'hello bob');
    assert.equal(await annRow.getByTestId('conversation-title').textContent(), 'ann');

    await annRow.click();
    await expectTexts(bob.page, ['hello bob'], 'bob sees what ann typed');
    await annRow.getByTestId('unread-badge').waitFor({ state: 'detached' });
    await send(bob.page, 'hi ann');
    await expectTexts(ann.page, ['hello bob', 'hi ann'], 'ann sees the answer, after her own message');
    assert.equal(await ann.page.getByTestId('message-sender').last().textContent(), 'bob');
    assert.equal(await row(ann.page, DM_ANN_BOB).getByTestId('conversation-preview').textContent(), 'hi ann');
    assert.deepEqual([...ann.problems, ...bob.problems], []);
    await ann.page.context().close();
    await bob.page.context().close();
  });

  it('a second tab of the same user sees the unread count clear when the first opens the conversation', async () => {
    const carol = await signedInPage(browser, web.url, 'carol');
    const second = await carol.page.context().newPage();
    const secondProblems = pageProblems(second);
    await second.goto(web.url);
    // The tab signs in as the user of this browser, as a device of its own.
    await second.getByTestId('connection').filter({ hasText: 'Online' }).waitFor();
    const devices = [await carol.page.getByTestId('me').textContent(), await second.getByTestId('me').textContent()];
    assert.match(devices[0]!, /^carol · web-/);
    assert.match(devices[1]!, /^carol · web-/);
    assert.notEqual(devices[0], devices[1], 'two tabs are two devices');

    const dave = await connect(web.server, 'dave', 'phone');
    clients.push(dave);
    for (const text of ['one', 'two', 'three']) await dave.client.send({ user: 'carol' }, { text });
    const conversation = 'dm:carol:dave';
    for (const page of [carol.page, second])
      await row(page, conversation).getByTestId('unread-badge').filter({ hasText: '3' }).waitFor();

    await row(carol.page, conversation).click();
    await expectTexts(carol.page, ['one', 'two', 'three'], 'the first tab shows the messages');
    await row(second, conversation).getByTestId('unread-badge').waitFor({ state: 'detached' });
    await row(carol.page, conversation).getByTestId('unread-badge').waitFor({ state: 'detached' });
    assert.deepEqual([...carol.problems, ...secondProblems], []);
    await carol.page.context().close();
  });
});
