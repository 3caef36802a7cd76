// The web console in real headless Chromium: sign in, find a session, play and seek a real SSH
// recording (masked password span on the seek bar), a database session's statements, roles.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, newContext, screenshotPath, signIn } from '../harness/browser.js';
import { type SshFixture, Tmux, latestClosedSession, startSshFixture } from '../harness/ssh-fixture.js';

let fx: SshFixture;
let browser: Browser;
let sessionId = '';

beforeAll(async () => {
  fx = await startSshFixture();
  fx.grant('ops', 'web01', '30m');
  fx.gw.admin(['user', 'add', 'ivy', '--role', 'investigator', '--password-stdin'], 'ivy-Password-1\n');
  fx.gw.admin(['user', 'add', 'root-admin', '--role', 'admin', '--password-stdin'], 'admin-Password-1\n');
  const t = Tmux.start(`ssh ${fx.sshOpts(['-tt', '-i', fx.opsKey, '-o', 'BatchMode=yes']).join(' ')} ops+web01@127.0.0.1`);
  try {
    await t.waitFor(/\$\s*$/m);
    t.send('echo "first-marker"');
    await t.waitFor(/^first-marker/m);
    await new Promise((r) => setTimeout(r, 1500));
    t.send('read -s -p "Password: " p; echo; echo "typed ${#p}"');
    // The prompt on a line of its own: the typed command line also contains "Password:".
    await t.waitFor(/^Password: ?$/m);
    t.send('SecretTypedInWeb1');
    await t.waitFor(/typed 17/);
    await new Promise((r) => setTimeout(r, 1500));
    t.send('echo "last-marker"; exit');
    // The gateway's record of the end (tmux can be slow to see the exit), with the recording closed.
    sessionId = await latestClosedSession(fx.gw);
  } finally {
    t.kill();
  }
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await fx?.stop();
});


const terminalText = (page: Page): Promise<string> => page.locator('#terminal .xterm-rows').innerText();

describe('the web console', () => {
  it('refuses a wrong password and signs in with the right one', async () => {
    const page = await (await newContext(browser)).newPage();
    await page.goto(fx.gw.url + '/');
    await page.fill('input[name=user]', 'ivy');
    await page.fill('input[name=password]', 'nope-nope-1');
    await page.click('button[type=submit]');
    await page.waitForSelector('.error:has-text("invalid user name")');
    await page.screenshot({ path: screenshotPath('sign-in-refused') });
    await page.fill('input[name=password]', 'ivy-Password-1');
    await page.click('button[type=submit]');
    await page.waitForSelector(`tr[data-session="${sessionId}"]`);
    await page.screenshot({ path: screenshotPath('sessions') });
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'pc_session')).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });
  });

  it('plays a recording and seeks anywhere, showing what the user saw then', async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'ivy', 'ivy-Password-1');
    await page.click(`a[href="#/session/${sessionId}"]`);
    await page.waitForSelector('#terminal .xterm-rows');
    const max = Number(await page.getAttribute('#seek', 'max'));
    expect(max).toBeGreaterThan(2);
    await page.locator('#seek').fill(String(max));
    await page.locator('#seek').dispatchEvent('change');
    // One read of the screen that shows the end (xterm's DOM renderer redraws rows in place).
    const atEnd = await page.waitForFunction(() => {
      const text = document.querySelector('#terminal .xterm-rows')?.textContent ?? '';
      return text.includes('last-marker') ? text : null;
    });
    const screenAtEnd = String(await atEnd.jsonValue());
    expect(screenAtEnd).toMatch(/typed 17/);
    expect(screenAtEnd).not.toMatch(/SecretTypedInWeb1/);
    await page.screenshot({ path: screenshotPath('player-end') });
    // Back to the start: the later output is gone from the screen.
    await page.locator('#seek').fill('0.3');
    await page.locator('#seek').dispatchEvent('change');
    await page.waitForFunction(() => !document.querySelector('#terminal .xterm-rows')?.textContent?.includes('last-marker'));
    await page.click('#play');
    await page.selectOption('#speed', '16');
    await page.waitForFunction(() => document.querySelector('#terminal .xterm-rows')?.textContent?.includes('first-marker'), undefined, { timeout: 15_000 });
    expect(page.url()).toMatch(/#\/session\/.*\?t=\d/);
  });

  it('finds a session by a command typed in it and opens it at that moment; masked input is not searchable', async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'ivy', 'ivy-Password-1');
    await page.fill('#search', 'first-marker');
    await page.waitForSelector(`a[data-hit="${sessionId}"]`);
    const hits = await page.$$eval('#hits li', (ls) => ls.map((l) => l.textContent ?? ''));
    expect(hits.some((h) => /\(input\): echo "first-marker"/.test(h))).toBe(true);
    await page.screenshot({ path: screenshotPath('search') });
    await page.click(`#hits li:has-text("(input)") a[data-hit="${sessionId}"]`);
    await page.waitForFunction(() => document.querySelector('#terminal .xterm-rows')?.textContent?.includes('echo "first-marker"'));
    expect(await terminalText(page)).not.toMatch(/last-marker/);
    const secret = await page.evaluate(async () => (await (await fetch('/api/v1/search?q=SecretTypedInWeb1')).json()) as unknown[]);
    expect(secret).toEqual([]);
  });

  it('marks the masked password span on the seek bar, and opens at a #t= link', async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'ivy', 'ivy-Password-1');
    const marks = await (async () => {
      await page.goto(`${fx.gw.url}/#/session/${sessionId}?t=0.5`);
      await page.waitForSelector('.mark');
      return page.$$eval('.mark', (ms) => ms.map((m) => m.getAttribute('data-label')));
    })();
    expect(marks).toContain('masked input');
    await page.screenshot({ path: screenshotPath('player-markers') });
  });

  it('keeps admin actions from an investigator, in the page and at the API', async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'ivy', 'ivy-Password-1');
    expect(await page.locator('button[data-kill]').count()).toBe(0);
    expect(await page.locator('#nav a[href="#/admin"]').count()).toBe(0);
    await page.goto(`${fx.gw.url}/#/admin`);
    await page.waitForSelector('.error:has-text("forbidden")');
    const status = await page.evaluate(async () => (await fetch('/api/v1/users')).status);
    expect(status).toBe(403);
  });

  it('gives an admin the users, targets, policies and grants, and disabling a user takes effect', async () => {
    fx.gw.admin(['user', 'add', 'leaver', '--role', 'investigator', '--password-stdin'], 'leaver-Password-1\n');
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'root-admin', 'admin-Password-1');
    await page.click('#nav a[href="#/admin"]');
    await page.waitForSelector('tr[data-target="web01"]');
    expect(await page.locator('tr[data-user="leaver"]').innerText()).toContain('active');
    expect(await page.locator('tr[data-grant]').count()).toBeGreaterThan(0);
    // A one-time link from the console: the URL is shown once, the link listed.
    await page.fill('input[name=link-label]', 'Vendor from the console');
    await page.click('#link-create');
    await page.waitForSelector('#link-url code');
    expect(await page.locator('#link-url code').innerText()).toMatch(/\/l\/[A-Za-z0-9_-]{43}$/);
    await page.screenshot({ path: screenshotPath('admin'), fullPage: true });
    await page.click('button[data-toggle-user="leaver"]');
    await page.waitForSelector('tr[data-user="leaver"]:has-text("disabled")');
    const leaver = await (await newContext(browser)).newPage();
    await leaver.goto(fx.gw.url + '/');
    await leaver.fill('input[name=user]', 'leaver');
    await leaver.fill('input[name=password]', 'leaver-Password-1');
    await leaver.click('button[type=submit]');
    await leaver.waitForSelector('.error');
  });

  it('refuses a state change without the CSRF token even with a valid session cookie', async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'root-admin', 'admin-Password-1');
    const status = await page.evaluate(async () => (await fetch('/api/v1/vault/rotate-key', { method: 'POST' })).status);
    expect(status).toBe(403);
  });
});
