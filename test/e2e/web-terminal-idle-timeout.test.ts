// The idle timeout for the vendor browser terminal (webTerminal.idleTimeout, the pipeline's one
// mechanism): typing and output keep it alive; left alone, the terminal shows why it ended and the
// reason is recorded. Real headless Chromium → gateway → real sshd.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/common.js';
import { launchChromium, newContext } from '../harness/browser.js';
import { json } from '../harness/gateway.js';
import { type SshFixture, startSshFixture } from '../harness/ssh-fixture.js';

let fx: SshFixture;
let browser: Browser;

beforeAll(async () => {
  fx = await startSshFixture({ PORTCULLIS_WEB_TERMINAL_IDLE_TIMEOUT: '3s' });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await fx?.stop();
});

interface SessionRow { id: string; user: string | null; end_reason: string | null }
const screenText = (page: Page): Promise<string> => page.locator('#terminal .xterm-rows').innerText();

describe('the browser terminal idle timeout', () => {
  it('keeps a busy terminal and cuts an idle one, visibly, with idle-timeout recorded', async () => {
    const link = json<{ id: string; url: string }>(fx.gw.admin(['link', 'create', 'web01', '--ttl', '1h', '--label', 'idle test', '--json']));
    const page = await (await newContext(browser)).newPage();
    await page.goto(link.url);
    await page.waitForSelector('#link-card');
    await page.click('#open');
    await page.waitForSelector('#terminal .xterm-rows');
    await waitFor('the shell prompt', async () => /\$\s*$/m.test(await screenText(page)), 20_000);
    await page.click('#terminal');
    // Output keeps the session alive past the timeout.
    await page.keyboard.type('for i in 1 2 3 4 5 6; do echo tick-$i; sleep 1; done');
    await page.keyboard.press('Enter');
    await waitFor('the loop to finish', async () => /tick-6/.test(await screenText(page)), 20_000);
    expect(await page.locator('#vendor-notice.error').count()).toBe(0);
    // Then nothing moves.
    await page.waitForSelector('#vendor-notice.error', { timeout: 15_000 });
    expect(await page.locator('#vendor-notice').innerText()).toMatch(/idle too long/);
    const mine = (): SessionRow | undefined => json<SessionRow[]>(fx.gw.admin(['session', 'list', '--json'])).find((s) => s.user === `link:${link.id}`);
    await waitFor('the session end recorded', () => mine()?.end_reason === 'idle-timeout', 5000);
  });
});
