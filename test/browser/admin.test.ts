import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ImClient } from '../../client/sdk.ts';
import { startPushProviders, type PushProviders } from '../fakes/push-providers.ts';
import { eventually, sleep } from '../e2e/harness.ts';
import { launchBrowser, pageProblems, startWebServer } from './browser.ts';
import { row, signedInPage, type ChatPage } from './chat-page.ts';

/**
 * The admin console in a real browser against one embedded server (with fake APNs and FCM for dead letters): the
 * operator signs in, manages apps, sends a notice that a user sees on the chat page and follows its status,
 * cancels a scheduled one, watches the figures move, and replays a dead letter. IM_SCREENSHOTS=1 writes
 * docs/screenshots/admin.png.
 */
describe('the admin console (embedded, Chromium)', () => {
  let browser: Browser;
  let web: Awaited<ReturnType<typeof startWebServer>>;
  let providers: PushProviders;
  let admin: Page;
  let problems: string[];
  let chat: ChatPage | undefined;
  const clients: ImClient[] = [];

  before(async () => {
    providers = await startPushProviders();
    [browser, web] = await Promise.all([
      launchBrowser(),
      startWebServer({ ...providers.settings, pushCoalesceWindowMs: 100, smallGroupMaxMembers: 2 }),
    ]);
    admin = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    problems = pageProblems(admin);
  });
  after(async () => {
    for (const c of clients) await c.close();
    await browser?.close();
    await web?.server.close();
    await providers?.close();
  });

  const client = async (user: string, device: string) => {
    const c = new ImClient({ url: web.server.gateway.url, token: () => web.server.token(user, device) });
    c.on('error', () => undefined);
    clients.push(c);
    await c.connect();
    return c;
  };
  const text = (testid: string, page = admin) => page.getByTestId(testid).first().innerText();
  const waitText = async (testid: string, check: (t: string) => boolean, what: string, ms = 15_000) => {
    const deadline = Date.now() + ms;
    let last = '';
    while (Date.now() < deadline) {
      last = await text(testid).catch(() => '');
      if (check(last)) return last;
      await sleep(100);
    }
    assert.fail(`timed out waiting for ${what} (${testid} shows ${JSON.stringify(last)})`);
  };
  /** Creates an app through the console's form; its row's id. */
  const createApp = async (name: string) => {
    await admin.getByLabel('App name').fill(name);
    await admin.getByRole('button', { name: 'Create app' }).click();
    await admin.getByTestId('app-secret').waitFor();
    const appRow = admin.getByTestId('app-row').filter({ hasText: name });
    await appRow.waitFor();
    return (await appRow.getAttribute('data-app-id'))!;
  };

  it('refuses the admin API without a token and with a user token (401), at HTTP level', async () => {
    const apps = `${web.url}/v1/admin/apps`;
    const dev = await fetch(`${web.url}/v1/dev/token`, {
      method: 'POST',
      body: JSON.stringify({ user: 'ann', device: 'web' }),
    });
    const { token: userToken } = (await dev.json()) as { token: string };
    const tries: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${userToken}` },
      { authorization: 'Bearer wrong' },
    ];
    for (const headers of tries) {
      const res = await fetch(apps, { headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(((await res.json()) as { code: string }).code, 'UNAUTHORIZED');
    }
    const ok = await fetch(apps, { headers: { authorization: `Bearer ${web.server.operator.token}` } });
    assert.equal(ok.status, 200);
  });

  it('refuses a wrong operator token with the server message, and signs in with the right one', async () => {
    await admin.goto(`${web.url}/admin`);
    await admin.getByLabel('Operator token').fill('not-it');
    await admin.getByRole('button', { name: 'Sign in' }).click();
    assert.match(await waitText('sign-in-error', (t) => t !== '', 'the refusal'), /not the operator token/);
    assert.equal(await admin.getByTestId('sign-out').count(), 0);
    // Chromium logs the refused request itself; that one line is expected, and nothing else.
    assert.deepEqual(problems, [
      'console error: Failed to load resource: the server responded with a status of 401 (Unauthorized)',
    ]);
    problems.length = 0;
    await admin.getByLabel('Operator token').fill(web.server.operator.token);
    await admin.getByLabel('Operator token').press('Enter');
    await admin.getByTestId('sign-out').waitFor();
    assert.equal(await admin.evaluate('sessionStorage.getItem("im-admin-operator-token")'), web.server.operator.token);
  });

  it('creates an app whose secret is shown once, and revokes it after a confirm', async () => {
    const id = await createApp('Billing <b>alerts</b>');
    const secret = await text('app-secret');
    assert.match(secret, /^[\w-]{43}$/);
    const appRow = admin.locator(`[data-testid="app-row"][data-app-id="${id}"]`);
    assert.match(await appRow.innerText(), /Billing <b>alerts<\/b>/, 'the name shown as text, not as HTML');
    await admin.reload();
    await appRow.waitFor();
    assert.equal(await admin.getByTestId('app-secret').count(), 0, 'not shown again');
    assert.ok(!(await admin.content()).includes(secret));
    admin.once('dialog', (dialog) => void dialog.accept());
    await appRow.getByRole('button', { name: /Revoke/ }).click();
    const state = appRow.getByTestId('app-state');
    await state.filter({ hasText: 'revoked' }).waitFor();
  });

  it('sends a notice that the chat page shows, its status moving to delivered and read', async () => {
    const appId = await createApp('Console notices');
    await admin.getByRole('button', { name: 'I have saved it' }).click();
    await admin.getByTestId('notice-app').selectOption(appId);
    chat = await signedInPage(browser, web.url, 'nora');
    await admin.getByLabel('User', { exact: true }).fill('nora');
    await admin.getByLabel('Title').fill('Maintenance tonight');
    await admin.getByLabel('Body').fill('The service pauses at 22:00 for ten minutes.');
    await admin.getByLabel('Priority').selectOption('high');
    await admin.getByRole('button', { name: 'Send notice' }).click();
    await waitText('count-delivered', (t) => t === '1', 'delivered');
    assert.equal(await text('count-targeted'), '1');
    assert.equal(await text('notice-priority'), 'high');
    assert.equal(await text('count-read'), '0');

    await row(chat.page, 'system').click();
    const shown = chat.page.getByTestId('notice').filter({ hasText: 'Maintenance tonight' });
    await shown.waitFor();
    assert.match(await shown.innerText(), /The service pauses at 22:00 for ten minutes\./);
    await waitText('count-read', (t) => t === '1', 'read, once the user saw it');
    assert.match(await text('recipients'), /nora: read/);
    assert.equal(
      await admin.getByTestId('notice-row').filter({ hasText: 'Maintenance tonight' }).count(),
      1,
      'listed among recent notices',
    );
    assert.deepEqual(chat.problems, []);
  });

  it('cancels a scheduled notice', async () => {
    const inAnHour = new Date(Date.now() + 3_600_000);
    const local = new Date(inAnHour.getTime() - inAnHour.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await admin.getByLabel('Title').fill('Later, maybe');
    await admin.getByLabel('Send at (empty: now)').fill(local);
    await admin.getByRole('button', { name: 'Send notice' }).click();
    await waitText('notice-state', (t) => t === 'scheduled', 'scheduled');
    await admin.getByTestId('cancel-notice').click();
    await waitText('notice-state', (t) => t === 'cancelled', 'cancelled');
    assert.ok(await admin.getByTestId('cancel-notice').isDisabled());
    await admin.getByLabel('Send at (empty: now)').fill('');
    await admin.getByTestId('notice-row').filter({ hasText: 'Later, maybe · cancelled' }).waitFor();
  });

  it('shows live figures that move with traffic, drawn as charts with points', async () => {
    const a = await client('fig-a', 'd1');
    await client('fig-b', 'd1');
    await waitText('figure-connections', (t) => Number(t) >= 3, 'three connections (two SDK clients, the chat page)');
    const sending = (async () => {
      for (let i = 0; i < 40; i++) {
        await a.send({ user: 'fig-b' }, { text: `figure ${i}` });
        await sleep(50);
      }
    })();
    await waitText('figure-messages', (t) => Number(t) > 0, 'messages per second above zero');
    await sending;
    await waitText('figure-bus-lag', (t) => Number.isFinite(Number(t)), 'a bus lag');
    const points = await admin.getByTestId('chart-messages').getAttribute('data-points');
    assert.ok(Number(points) >= 2, `the messages chart has points (${points})`);
    assert.match(
      (await admin.getByTestId('chart-messages').getAttribute('d')) ?? '',
      /^M[\d.]+ [\d.]+( L[\d.]+ [\d.]+)+$/,
    );
  });

  it('lists a dead letter and replays it', async () => {
    const phone = await client('dl-bob', 'phone');
    const token = 'dead'.padEnd(64, 'b');
    await phone.registerPush({ platform: 'apns', token, topic: 'com.example.chat', previews: true });
    await phone.close();
    providers.apns.answer(token, ...Array.from({ length: 5 }, () => ({ status: 503, reason: 'ServiceUnavailable' })));
    const sender = await client('dl-alice', 'laptop');
    await sender.send({ user: 'dl-bob' }, { text: 'never' });
    await eventually(() => providers.apns.requests.get(token) === 5, 'five refused tries', 20_000);
    const letter = admin.getByTestId('dead-letter-row').filter({ hasText: 'dl-bob' });
    const deadline = Date.now() + 10_000;
    while ((await letter.count()) === 0 && Date.now() < deadline) {
      await admin.getByRole('button', { name: 'Refresh', exact: true }).click();
      await sleep(300);
    }
    assert.equal(await letter.count(), 1, 'the dead letter is listed');
    assert.match(await letter.innerText(), /apns/);
    await letter.getByRole('checkbox').check();
    await admin.getByRole('button', { name: 'Replay selected' }).click();
    await waitText('dead-letters-status', (t) => t === 'Replayed 1.', 'the replay');
    await eventually(() => providers.apns.accepted.some((p) => p.token === token), 'the replayed push accepted');
    assert.equal(await letter.count(), 0, 'a replayed letter leaves the list');
  });

  it('fits a phone-sized screen, and had no page error anywhere', async () => {
    if (process.env.IM_SCREENSHOTS === '1') {
      await admin.getByTestId('notice-row').filter({ hasText: 'Maintenance tonight' }).getByRole('button').click();
      await waitText('count-read', (t) => t === '1', 'the status shown');
      const dir = join(import.meta.dirname, '..', '..', 'docs', 'screenshots');
      mkdirSync(dir, { recursive: true });
      await admin.screenshot({ path: join(dir, 'admin.png'), fullPage: true });
    }
    await admin.setViewportSize({ width: 375, height: 740 });
    const overflow = Number(await admin.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    const wide = await admin.evaluate(`[...document.querySelectorAll('*')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .map((e) => e.tagName + '.' + e.className + '#' + e.getAttribute('data-testid')).join(' ')`);
    assert.ok(overflow <= 1, `no sideways scroll on a phone (${overflow} px too wide: ${String(wide)})`);
    assert.deepEqual(problems, []);
  });
});
