import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumBinary } from '../../infra/chromium.ts';
import { startServer, type Target } from '../e2e/harness.ts';
import type { Embedded } from '../../app/embedded.ts';

/** Debian's Chromium, headless, through playwright-core (installed first when missing; fails loudly if it cannot be). */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = await chromiumBinary((line) => process.stderr.write(`${line}\n`));
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
}

/** The embedded server the pages are served from, and its http://127.0.0.1:port base. */
export async function startWebServer(
  overrides: Parameters<typeof startServer>[0] = {},
): Promise<{ server: Embedded & Target; url: string }> {
  const server = await startServer(overrides);
  return { server, url: server.gateway.url.replace(/^ws/, 'http').replace(/\/v1\/ws$/, '') };
}

/**
 * What went wrong in a page: uncaught errors, console errors, and content-security-policy refusals (a page that
 * loads something from elsewhere fails its test).
 */
export function pageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  return problems;
}
