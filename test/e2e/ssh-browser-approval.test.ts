// SSH for people without the CLI: plain OpenSSH (under tmux, a real terminal) answers the password
// prompt with Enter, gets a link and a code as keyboard-interactive instructions, real headless
// Chromium signed in to the console approves, Enter again, and the session opens on the target (the
// harness's real sshd). Another signed-in user cannot approve it; a denial is refused at the prompt.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, newContext, screenshotPath, signIn } from '../harness/browser.js';
import { type SshFixture, Tmux, startSshFixture } from '../harness/ssh-fixture.js';

let fx: SshFixture;
let browser: Browser;

beforeAll(async () => {
  fx = await startSshFixture();
  fx.grant('ops', 'web01', '30m');
  const add = fx.gw.admin(['user', 'add', 'mallory', '--role', 'ops', '--password-stdin'], 'mallory-Password-1\n');
  if (add.code !== 0) throw new Error(add.stderr);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await fx?.stop();
});

/** ssh with keyboard-interactive only (no key, no agent), as someone without the CLI would. */
function sshAt(login: string): Tmux {
  // OpenSSH prints keyboard-interactive instructions at LogLevel INFO (its default; the fixture's
  // options say ERROR, and the first value given wins).
  const ssh = `ssh -o LogLevel=INFO ${fx.sshOpts(['-tt', '-o', 'PreferredAuthentications=keyboard-interactive', '-o', 'PubkeyAuthentication=no', '-o', 'IdentityAgent=none']).join(' ')} ${login}@127.0.0.1`;
  return Tmux.start(ssh, { cols: 200, rows: 40 });
}

/** Enter at the password prompt; the instructions carry the approval link and the code. */
async function askForBrowser(t: Tmux): Promise<{ url: string; code: string }> {
  await t.waitFor(/press Enter with none to approve this login in your browser[^\n]*\n.*Password:/);
  t.send('');
  const screen = await t.waitFor(/Press Enter once approved:/);
  const url = /Open (https:\/\/\S+#\/approve\/\S+) in the browser/.exec(screen)?.[1];
  const code = /check code ([A-Z2-9]{4}-[A-Z2-9]{4})/.exec(screen)?.[1];
  if (!url || !code) throw new Error(`no link or code on screen:\n${screen}`);
  return { url, code };
}

async function consoleAs(user: string, password: string): Promise<Page> {
  const page = await (await newContext(browser)).newPage();
  await signIn(page, fx.gw.url, user, password);
  return page;
}

describe('ssh login approved in the browser', () => {
  it('opens the session on the target once its own user approves in Chromium', async () => {
    const t = sshAt('ops+web01');
    const page = await consoleAs('ops', 'ops-Password-1');
    try {
      const { url, code } = await askForBrowser(t);
      expect(url.startsWith(fx.gw.url)).toBe(true);
      await page.goto(url);
      await page.waitForSelector('[data-login-approve]');
      expect(await page.textContent('[data-login-code]')).toBe(code);
      expect(await page.textContent('[data-approve-login]')).toContain('SSH as ops to web01');
      await page.screenshot({ path: screenshotPath('ssh-browser-approve') });
      await page.click('[data-login-approve]');
      await page.waitForSelector('[data-login-state=approved]');
      t.send('');
      await t.waitFor(/\$\s*$/m);
      t.send('echo "on-$((6*7))-$(whoami)"');
      await t.waitFor(new RegExp(`on-42-${fx.sshd.user}`));
      t.send('exit 0');
    } finally {
      t.kill();
      await page.context().close();
    }
  }, 90_000);

  it('refuses when another signed-in user tries to approve, and when the login is denied', async () => {
    const t = sshAt('ops+web01');
    const page = await consoleAs('mallory', 'mallory-Password-1');
    try {
      const { url } = await askForBrowser(t);
      await page.goto(url);
      await page.click('[data-login-approve]');
      await page.waitForFunction(() => /only ops, signed in, may approve it/.test(document.querySelector('[role=alert]')?.textContent ?? ''));
      // Enter before any approval: asked again, not let in.
      t.send('');
      await t.waitFor(/Not approved yet\. Open https/);
      await page.click('[data-login-deny]');
      await page.waitForSelector('[data-login-state=denied]');
      t.send('');
      await t.waitFor(/login not approved in the browser: the login was denied/);
      expect(t.screen()).not.toMatch(/\$\s*$/m);
    } finally {
      t.kill();
      await page.context().close();
    }
  }, 90_000);
});
