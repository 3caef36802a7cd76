// Leaving a page in the web console ends everything that page started, in real headless Chromium
// against a real gateway and sshd: leaving the player during playback stays on the page one went
// to (the old player's pending timer rewrote the hash ~1.6 s later and dragged the browser back),
// asks the gateway for no more windows, and a late answer to a left page renders nothing; leaving
// a live view closes its WebSocket, which the gateway sees.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/common.js';
import { launchChromium, newContext, screenshotPath, signIn } from '../harness/browser.js';
import { type SshFixture, Tmux, latestClosedSession, startSshFixture } from '../harness/ssh-fixture.js';

let fx: SshFixture;
let browser: Browser;
let recorded = '';

/** Longer than the old bug's delay, with room for a slow machine. */
const AFTER_LEAVING_MS = 3000;

beforeAll(async () => {
  fx = await startSshFixture();
  fx.grant('ops', 'web01', '30m');
  fx.gw.admin(['user', 'add', 'ivy', '--role', 'investigator', '--password-stdin'], 'ivy-Password-1\n');
  fx.gw.admin(['user', 'add', 'boss', '--role', 'admin', '--password-stdin'], 'boss-Password-1\n');
  // A recording with output every 0.3 s for about 6 s: played at 1x, a step is always pending.
  const t = Tmux.start(`ssh ${fx.sshOpts(['-tt', '-i', fx.opsKey, '-o', 'BatchMode=yes']).join(' ')} ops+web01@127.0.0.1`);
  try {
    await t.waitFor(/\$\s*$/m);
    t.send('for i in $(seq 1 20); do echo "tick-$i"; sleep 0.3; done; exit');
    recorded = await latestClosedSession(fx.gw);
  } finally {
    t.kill();
  }
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await fx?.stop();
});

const windowRequestsInLog = (id: string): number =>
  fx.gw.log().split('\n').filter((l) => l.includes('"http.request"') && l.includes(`/api/v1/sessions/${id}/terminal`)).length;

/** Counts the page's own hash changes and requests from now on (what a left page could still do). */
async function watch(page: Page, pattern: RegExp): Promise<{ requests: () => number; hashChanges: () => Promise<number> }> {
  let n = 0;
  page.on('request', (r) => { if (pattern.test(r.url())) n++; });
  await page.evaluate(() => {
    const w = window as unknown as { hashChanges: number };
    w.hashChanges = 0;
    window.addEventListener('hashchange', () => { w.hashChanges++; });
  });
  return { requests: () => n, hashChanges: () => page.evaluate(() => (window as unknown as { hashChanges: number }).hashChanges) };
}

describe('leaving a page in the web console', () => {
  it('stays on the page one went to after leaving the player during playback, and the player asks for nothing more', async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'ivy', 'ivy-Password-1');
    await page.goto(`${fx.gw.url}/#/session/${recorded}?t=0`);
    await page.waitForSelector('#terminal .xterm-rows');
    await page.click('#play');
    // Playing: output appears and the player rewrites its own hash as it goes.
    await page.waitForFunction(() => document.querySelector('#terminal .xterm-rows')?.textContent?.includes('tick-3'), undefined, { timeout: 15_000 });
    expect(await page.locator('#play').innerText()).toBe('Pause');
    expect(Number(new URL(page.url()).hash.split('?t=')[1])).toBeGreaterThan(0);

    // Leave for the requests page through the navigation bar.
    const before = windowRequestsInLog(recorded);
    await page.click('#nav a[href="#/requests"]');
    await page.waitForSelector('h2:has-text("Pending requests")');
    const seen = await watch(page, /\/terminal\?/);
    await page.waitForTimeout(AFTER_LEAVING_MS);

    expect(new URL(page.url()).hash).toBe('#/requests');
    expect(await page.locator('h2').allInnerTexts()).toEqual(['Request access', 'Pending requests']);
    expect(await page.locator('#terminal').count()).toBe(0);
    expect(await seen.hashChanges()).toBe(0);
    expect(seen.requests()).toBe(0);
    expect(windowRequestsInLog(recorded)).toBe(before);
    // The space key no longer reaches a player that is gone (its keydown listener left with it).
    await page.keyboard.press('Space');
    await page.waitForTimeout(300);
    expect(new URL(page.url()).hash).toBe('#/requests');
    await page.screenshot({ path: screenshotPath('left-player') });
  });

  it('renders nothing from a player whose first answer arrives after the page was left', async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'ivy', 'ivy-Password-1');
    // Hold the gateway's real answer to the session lookup until after the user has moved on.
    // Held until the test has moved on (not for a fixed time a slow browser could outlast).
    let held = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => { release = r; });
    await page.route(new RegExp(`/api/v1/sessions/${recorded}$`), async (route) => {
      held++;
      await gate;
      await route.continue().catch(() => { /* the left page aborted its fetch */ });
    });
    const before = windowRequestsInLog(recorded);
    await page.goto(`${fx.gw.url}/#/session/${recorded}?t=2`);
    await waitFor('the session lookup to be in flight', () => held > 0, 10_000);
    await page.click('#nav a[href="#/sessions"]');
    await page.waitForSelector(`tr[data-session="${recorded}"]`);
    const seen = await watch(page, /\/terminal\?/);
    release();
    await page.waitForTimeout(AFTER_LEAVING_MS);

    expect(new URL(page.url()).hash).toBe('#/sessions');
    expect(await page.locator('h2').innerText()).toBe('Sessions');
    expect(await page.locator('#terminal').count()).toBe(0);
    expect(await seen.hashChanges()).toBe(0);
    expect(seen.requests()).toBe(0);
    expect(windowRequestsInLog(recorded)).toBe(before);
  });

  it('closes the live view\'s WebSocket when the viewer leaves, and the session itself goes on', async () => {
    const grantId = fx.grant('ops', 'web01', '30m');
    const t = Tmux.start(`ssh ${fx.sshOpts(['-tt', '-i', fx.opsKey, '-o', 'BatchMode=yes']).join(' ')} ops+web01@127.0.0.1`);
    try {
      await t.waitFor(/\$\s*$/m);
      t.send('echo "watched-$((6*7))"');
      await t.waitFor(/^watched-42/m);
      const live = (JSON.parse(fx.gw.admin(['session', 'list', '--json']).stdout) as Array<{ id: string; end_reason: string | null }>)
        .find((s) => s.end_reason === null);
      expect(live).toBeDefined();
      const id = live!.id;

      const page = await (await newContext(browser)).newPage();
      let closedInBrowser = false;
      page.on('websocket', (ws) => { if (ws.url().includes(`/sessions/${id}/live`)) ws.on('close', () => { closedInBrowser = true; }); });
      await signIn(page, fx.gw.url, 'boss', 'boss-Password-1');
      await page.goto(`${fx.gw.url}/#/live/${id}`);
      await page.waitForSelector('#live-status:has-text("live")');
      await page.waitForFunction(() => document.querySelector('#terminal .xterm-rows')?.textContent?.includes('watched-42'));
      const left = (): boolean => fx.gw.log().split('\n').some((l) => l.includes('"live.viewer_left"') && l.includes(id));
      expect(left()).toBe(false);

      await page.click('#nav a[href="#/sessions"]');
      await page.waitForSelector(`tr[data-session="${id}"]`);
      // The gateway sees the viewer go, with a normal closure.
      await waitFor('the gateway to see the viewer leave', left, AFTER_LEAVING_MS);
      const line = fx.gw.log().split('\n').find((l) => l.includes('"live.viewer_left"') && l.includes(id))!;
      expect((JSON.parse(line) as { code: number; by: string })).toMatchObject({ code: 1000, by: 'boss' });
      // The browser's own close event can reach playwright after the gateway's log line.
      await waitFor('the browser to see its socket close', () => closedInBrowser, 5000);

      // Output after leaving reaches the ssh client but no page; the browser stays where it went.
      t.send('echo "after-leaving-$((6*7))"');
      await t.waitFor(/^after-leaving-42/m);
      await page.waitForTimeout(1000);
      expect(new URL(page.url()).hash).toBe('#/sessions');
      expect(await page.locator('#terminal').count()).toBe(0);
      const still = (JSON.parse(fx.gw.admin(['session', 'list', '--json']).stdout) as Array<{ id: string; end_reason: string | null }>).find((s) => s.id === id);
      expect(still?.end_reason).toBeNull();
      await page.screenshot({ path: screenshotPath('left-live-view') });
    } finally {
      t.kill();
      fx.gw.admin(['grant', 'revoke', grantId]);
    }
  });
});
