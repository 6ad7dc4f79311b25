import type { Browser, Page } from 'playwright-core';
import { pageProblems } from './browser.ts';

/** A chat page signed in through its own form, with the problems it has had. */
export interface ChatPage {
  page: Page;
  problems: string[];
}

/** A new page (in a new context: another browser profile, unless `context` is given) signed in as `user`. */
export async function signedInPage(browser: Browser, url: string, user: string, page?: Page): Promise<ChatPage> {
  page ??= await (await browser.newContext()).newPage();
  const problems = pageProblems(page);
  await page.goto(url);
  await page.getByTestId('sign-in-user').fill(user);
  await page.getByTestId('sign-in').click();
  await page.getByTestId('connection').filter({ hasText: 'Online' }).waitFor();
  return { page, problems };
}

export function row(page: Page, conversation: string) {
  return page.locator(`[data-testid="conversation-row"][data-conversation="${conversation}"]`);
}

export async function openDirect(page: Page, user: string): Promise<void> {
  await page.getByTestId('new-chat-user').fill(user);
  await page.getByTestId('new-chat').click();
}

/** Types a message and sends it with Enter, as a user would. */
export async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId('composer-input').fill(text);
  await page.getByTestId('composer-input').press('Enter');
}

/** The texts of the open conversation's messages, in order. */
export function texts(page: Page): Promise<string[]> {
  return page.getByTestId('message-text').allTextContents();
}
