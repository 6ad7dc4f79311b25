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

  it('after the server drops the socket, reconnects and shows every message once, in order, without a gap', async () => {
    const erin = await signedInPage(browser, web.url, 'erin');
    const device = (await erin.page.getByTestId('me').textContent())!.split(' · ')[1]!;
    const frank = await connect(web.server, 'frank', 'phone');
    clients.push(frank);
    await openDirect(erin.page, 'frank');
    const sent: string[] = [];
    const sendFromFrank = async (text: string) => {
      await frank.client.send({ user: 'erin' }, { text });
      sent.push(text);
    };
    for (const text of ['before 1', 'before 2', 'before 3']) await sendFromFrank(text);
    await expectTexts(erin.page, sent, 'the messages before the drop');

    // The operator revokes the page's sign-in: the server closes its socket (4001) at once. The page asks for a new
    // token at every reconnect; those issued within the revocation's second are refused too, so it stays down a while.
    const revoked = await fetch(`${web.url}/v1/admin/auth/revocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${web.server.operator.token}` },
      body: JSON.stringify({ user: 'erin', device }),
    });
    assert.equal(revoked.status, 200);
    await erin.page.getByTestId('connection').filter({ hasText: 'Reconnecting' }).waitFor();
    for (const text of ['while down 1', 'while down 2', 'while down 3']) await sendFromFrank(text);
    await erin.page.getByTestId('connection').filter({ hasText: 'Online' }).waitFor({ timeout: 15_000 });
    for (const text of ['after 1', 'after 2']) await sendFromFrank(text);
    await expectTexts(erin.page, sent, 'each message exactly once, in order');
    await erin.page.waitForTimeout(500);
    assert.deepEqual(await texts(erin.page), sent, 'and nothing more comes later');
    // The reconnect attempts the revocation refuses are logged by Chromium as failed handshakes; nothing else may be.
    const refusedHandshake = /WebSocket connection to .* failed/;
    assert.deepEqual(
      erin.problems.filter((p) => !refusedHandshake.test(p)),
      [],
    );
    await erin.page.context().close();
  });

  it('edits and recalls own messages, and makes a group whose members see its messages', async () => {
    const gina = await signedInPage(browser, web.url, 'gina');
    const hank = await signedInPage(browser, web.url, 'hank');
    await openDirect(gina.page, 'hank');
    await send(gina.page, 'draft one');
    const mine = gina.page.locator('[data-testid="message"][data-status="sent"]');
    await mine.getByTestId('edit').click();
    assert.equal(await gina.page.getByTestId('composer-input').inputValue(), 'draft one');
    await send(gina.page, 'final one');
    await send(gina.page, 'oops');
    await mine.filter({ hasText: 'oops' }).getByTestId('recall').click();
    await expectTexts(gina.page, ['final one', 'message recalled'], 'the sender sees the edit and the recall');
    await row(hank.page, 'dm:gina:hank').click();
    await expectTexts(hank.page, ['final one', 'message recalled'], 'the reader sees them too');
    assert.equal(await hank.page.locator('.edited').count(), 1, 'the edited message says so');

    await gina.page.getByText('New group').click();
    await gina.page.getByTestId('group-name').fill('Trip <b>planning</b>');
    await gina.page.getByTestId('group-members').fill('hank');
    await gina.page.getByTestId('create-group').click();
    await gina.page.getByTestId('open-title').filter({ hasText: 'Trip <b>planning</b>' }).waitFor();
    await send(gina.page, 'group hello');
    const groupRow = hank.page.getByTestId('conversation-row').filter({ hasText: 'Trip <b>planning</b>' });
    await groupRow.getByTestId('unread-badge').filter({ hasText: '1' }).waitFor();
    await groupRow.click();
    await expectTexts(hank.page, ['group hello'], 'a member sees the group message');

    await gina.page.getByTestId('members-toggle').click();
    const members = gina.page.getByTestId('member');
    await members.nth(1).waitFor();
    const users = await Promise.all((await members.all()).map((m) => m.getAttribute('data-user')));
    assert.deepEqual(users, ['gina', 'hank']);
    await gina.page.getByTestId('add-member-input').fill('ivy');
    await gina.page.getByTestId('add-member').click();
    await gina.page.locator('[data-testid="member"][data-user="ivy"]').waitFor();
    await gina.page.getByRole('button', { name: 'Remove ivy' }).click();
    await gina.page.locator('[data-testid="member"][data-user="ivy"]').waitFor({ state: 'detached' });

    await hank.page.getByTestId('members-toggle').click();
    await hank.page.getByTestId('leave-group').click();
    await gina.page.getByTestId('members-toggle').click();
    await gina.page.getByTestId('members-toggle').click();
    await gina.page.locator('[data-testid="member"][data-user="hank"]').waitFor({ state: 'detached' });
    assert.deepEqual([...gina.problems, ...hank.problems], []);
    assert.equal(await gina.page.getByTestId('problem').textContent(), '');
    assert.equal(await hank.page.getByTestId('problem').textContent(), '');
    await gina.page.context().close();
    await hank.page.context().close();
  });

  it('shows the server’s refusal of a bad user id, and HTML or a body of the largest size as plain text', async () => {
    const page = await (await browser.newContext()).newPage();
    const problems = pageProblems(page);
    await page.goto(web.url);
    await page.getByTestId('sign-in-user').fill('../x');
    await page.getByTestId('sign-in').click();
    await page.getByTestId('sign-in-error').filter({ hasText: 'user id is 1-64 characters' }).waitFor();
    // The refused sign-in request is logged by Chromium as a failed resource; nothing else may be.
    assert.deepEqual(
      problems.filter((p) => !p.includes('status of 400')),
      [],
    );
    problems.length = 0;

    const jo = await signedInPage(browser, web.url, 'jo', page);
    await openDirect(page, 'kim');
    const html = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script><b>bold</b>';
    const largest = 'x'.repeat(web.server.config.maxBodyBytes);
    await send(page, html);
    await send(page, largest);
    await page.locator('[data-testid="message"][data-status="sent"]').nth(1).waitFor();
    await expectTexts(page, [html, largest], 'both shown exactly as typed');
    assert.equal(await page.locator('.messages img, .messages script, .messages b').count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined, 'no script ran');

    await send(page, `${largest}y`);
    await page.locator('[data-testid="message"][data-status="failed"]').getByTestId('retry').waitFor();
    assert.match((await page.getByTestId('problem').textContent())!, /./, 'the refusal is said');
    assert.deepEqual([...problems, ...jo.problems], []);
    await page.context().close();
  });
});
