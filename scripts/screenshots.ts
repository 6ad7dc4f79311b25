// Screenshots of the web pages with real data, for the README: `npx tsx scripts/screenshots.ts` (npm run build:web
// first) writes docs/screenshots/*.png. Each page has its own function, given a browser and a running server.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { OperatorClient } from '../client/notice-api.ts';
import { connect } from '../test/e2e/harness.ts';
import { launchBrowser, startWebServer } from '../test/browser/browser.ts';
import { openDirect, row, send, signedInPage } from '../test/browser/chat-page.ts';

const OUT = join(import.meta.dirname, '..', 'docs', 'screenshots');

export type WebServer = Awaited<ReturnType<typeof startWebServer>>;

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 760 };

/** A few conversations for ann: 1:1s with bob and carol, a group of the three, and a notice from an app. */
async function seedChat(web: WebServer): Promise<void> {
  const bob = await connect(web.server, 'bob', 'phone');
  const carol = await connect(web.server, 'carol', 'laptop');
  try {
    const group = await bob.client.createGroup('Weekend trip', ['ann', 'carol']);
    await bob.client.send({ group: group.groupId }, { text: 'Train at 9:40 on Saturday, platform 4.' });
    await carol.client.send({ group: group.groupId }, { text: 'I will bring the map and snacks.' });
    await carol.client.send({ user: 'ann' }, { text: 'Did you see the photos from last week?' });
    await bob.client.send({ user: 'ann' }, { text: 'Lunch tomorrow?' });
    const operator = new OperatorClient({ baseUrl: web.url, token: web.server.operator.token });
    const app = await operator.createApp({ name: 'Billing', scopes: ['unicast'] });
    await operator.sendNotice(app.id, {
      message_id: 'invoice-1',
      target: { users: ['ann'] },
      content: { title: 'Your invoice is ready', body: 'March: 3 seats, paid by card ending 4242.' },
    });
  } finally {
    await bob.client.close();
    await carol.client.close();
  }
}

/** docs/screenshots/chat.png (desktop) and chat-phone.png: ann's chat page with real conversations. */
export async function chatScreenshots(browser: Browser, web: WebServer): Promise<string[]> {
  await seedChat(web);
  const desktop = await browser.newContext({ viewport: DESKTOP });
  const ann = await signedInPage(browser, web.url, 'ann', await desktop.newPage());
  await openDirect(ann.page, 'bob');
  await send(ann.page, 'Yes! 12:30 at the usual place?');
  await ann.page.getByTestId('conversation-row').filter({ hasText: 'Weekend trip' }).click();
  await send(ann.page, 'Count me in for Saturday.');
  await ann.page.locator('.own[data-status="sent"]').waitFor();
  const files = [join(OUT, 'chat.png'), join(OUT, 'chat-phone.png')];
  await ann.page.screenshot({ path: files[0] });

  const phone = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const annPhone = await signedInPage(browser, web.url, 'ann', await phone.newPage());
  await row(annPhone.page, 'dm:ann:bob').click();
  await annPhone.page.getByTestId('message').nth(1).waitFor();
  await annPhone.page.screenshot({ path: files[1] });
  await desktop.close();
  await phone.close();
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await mkdir(OUT, { recursive: true });
  const [browser, web] = await Promise.all([launchBrowser(), startWebServer()]);
  try {
    for (const file of await chatScreenshots(browser, web)) process.stdout.write(`wrote ${file}\n`);
  } finally {
    await browser.close();
    await web.server.close();
  }
}
