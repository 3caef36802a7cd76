// Real headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core; never a
// downloaded browser. Screenshots go to test-output/ for a reviewer to look at.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { requireBinary } from './common.js';

export const SCREENSHOTS = resolve(import.meta.dirname, '../../test-output/screenshots');

export async function launchChromium(): Promise<Browser> {
  const exe = requireBinary('chromium', '/usr/bin/chromium');
  return chromium.launch({
    executablePath: exe, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-quic', '--no-first-run'],
  });
}

/** A context that trusts nothing but lets the test reach the gateway's self-signed listener. */
export function newContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, `${name}.png`);
}

/** Signs in through the page's own form. */
export async function signIn(page: Page, url: string, user: string, password: string): Promise<void> {
  await page.goto(url + '/');
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#who');
}
