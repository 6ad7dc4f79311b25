import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { connect, eventually, type TestClient } from '../e2e/harness.ts';
import { launchBrowser, pageProblems, startWebServer } from './browser.ts';

/** Presses Tab until the element with `testId` has focus (at most 40 times), as a keyboard user would. */
async function tabTo(page: Page, testId: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate<string>("document.activeElement?.getAttribute('data-testid') ?? ''");
    if (focused === testId) return;
  }
  assert.fail(`Tab never reached ${testId}`);
}

describe('the chat client with the keyboard only (embedded)', () => {
  let browser: Browser;
  let web: Awaited<ReturnType<typeof startWebServer>>;
  let kim: TestClient | undefined;
  before(async () => {
    [browser, web] = await Promise.all([launchBrowser(), startWebServer()]);
  });
  after(async () => {
    await kim?.client.close();
    await browser.close();
    await web.server.close();
  });

  it('signs in, opens a 1:1 and sends with Tab, typing and Enter', async () => {
    const page = await (await browser.newContext()).newPage();
    const problems = pageProblems(page);
    await page.goto(web.url);
    await tabTo(page, 'sign-in-user');
    await page.keyboard.type('jon');
    await page.keyboard.press('Enter');
    await page.getByTestId('connection').filter({ hasText: 'Online' }).waitFor();
    kim = await connect(web.server, 'kim', 'phone');

    await tabTo(page, 'new-chat-user');
    await page.keyboard.type('kim');
    await page.keyboard.press('Enter');
    await tabTo(page, 'composer-input');
    await page.keyboard.type('typed, never clicked');
    await page.keyboard.press('Enter');
    await eventually(() => kim!.texts().includes('typed, never clicked'), 'kim gets it');
    const outline = await page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle');
    assert.notEqual(outline, 'none', 'the focused element shows it has focus');
    assert.deepEqual(problems, []);
  });
});
