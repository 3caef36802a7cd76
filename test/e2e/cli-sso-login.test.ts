// `portcullis login --sso` end to end: the real CLI (built) begins the login and prints the URL and
// code; real headless Chromium opens the URL, signs in to the console (and comes back to the
// approval page), checks the code and approves; the CLI finishes and `whoami` works with the saved
// token. Also: a denial, a second poller, an approval refused without the console's CSRF token.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../harness/common.js';
import { launchChromium, newContext, screenshotPath, signIn } from '../harness/browser.js';
import { BIN, cli, type GatewayPeer, startGateway } from '../harness/gateway.js';

let gw: GatewayPeer;
let browser: Browser;

interface SsoRun { child: ChildProcess; stdout: () => string; stderr: () => string; done: Promise<number>; home: string }

/** The built CLI with no display and --no-browser: it prints the URL and waits. */
function ssoLogin(extra: string[] = []): SsoRun {
  const home = tempDir('sso-home');
  const env: NodeJS.ProcessEnv = { ...process.env, PORTCULLIS_HOME: home, PORTCULLIS_DATA: '', DISPLAY: '', WAYLAND_DISPLAY: '', BROWSER: '' };
  const child = spawn(process.execPath, [BIN, 'login', '--sso', '--no-browser', '--server', gw.url, '--ca', gw.caFile, ...extra], { env });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return { child, stdout: () => out, stderr: () => err, done, home };
}

async function urlAndCode(r: SsoRun): Promise<{ url: string; code: string }> {
  await waitFor('the CLI to print the approval URL', () => /#\/approve\/\S+/.test(r.stderr()) && /code [A-Z2-9]{4}-[A-Z2-9]{4}/.test(r.stderr()), 15_000);
  return { url: /(https:\/\/\S+#\/approve\/\S+)/.exec(r.stderr())![1]!, code: /code ([A-Z2-9]{4}-[A-Z2-9]{4})/.exec(r.stderr())![1]! };
}

/** Where gw.login keeps a user's CLI login (the harness's homes/USER). */
function loginHome(user: string): string {
  const r = gw.login(user, 'ops-Password-1');
  if (r.code !== 0) throw new Error(r.stderr);
  return join(gw.dataDir, '..', 'homes', user);
}

/** A POST with an API token, as a script would send it. */
function postStatus(path: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, gw.url), { method: 'POST', ca: readFileSync(gw.caFile), headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

async function signedInPage(): Promise<Page> {
  const page = await (await newContext(browser)).newPage();
  await signIn(page, gw.url, 'ops', 'ops-Password-1');
  return page;
}

beforeAll(async () => {
  gw = await startGateway();
  const add = gw.admin(['user', 'add', 'ops', '--role', 'ops', '--password-stdin'], 'ops-Password-1\n');
  if (add.code !== 0) throw new Error(add.stderr);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
});

describe('portcullis login --sso', () => {
  it('prints a URL and code; Chromium signs in, comes back to the approval page, approves; the CLI saves a token that whoami accepts', async () => {
    const r = ssoLogin();
    const { url, code } = await urlAndCode(r);
    // The secret the CLI polls with is never printed.
    expect(r.stderr()).not.toMatch(/pcl_/);
    const page = await (await newContext(browser)).newPage();
    await page.goto(url);
    // Not signed in yet: the sign-in form, then straight back to the approval page.
    await page.fill('input[name=user]', 'ops');
    await page.fill('input[name=password]', 'ops-Password-1');
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-login-approve]');
    expect(await page.textContent('[data-login-code]')).toBe(code);
    expect(await page.textContent('[data-approve-login]')).toContain('Approve sign-in for the Portcullis CLI from 127.0.0.1?');
    await page.screenshot({ path: screenshotPath('cli-sso-approve') });
    await page.click('[data-login-approve]');
    await page.waitForSelector('[data-login-state]');
    expect(await r.done).toBe(0);
    expect(r.stdout()).toMatch(/logged in to .* as ops until/);
    const who = cli(['whoami', '--json'], { env: { PORTCULLIS_HOME: r.home, PORTCULLIS_DATA: '' } });
    expect(who.code).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({ name: 'ops' });
    await page.waitForSelector('[data-login-state=consumed]', { timeout: 5_000 }).catch(async () => {
      await page.reload();
      await page.waitForSelector('[data-login-state=consumed]');
    });
    await page.context().close();
  }, 60_000);

  it('ends with a clear error when the sign-in is denied in the browser', async () => {
    const r = ssoLogin();
    const { url } = await urlAndCode(r);
    const page = await signedInPage();
    await page.goto(url);
    await page.click('[data-login-deny]');
    await page.waitForSelector('[data-login-state=denied]');
    expect(await r.done).toBe(1);
    expect(r.stderr()).toContain('the sign-in was denied in the browser');
    await page.context().close();
  }, 60_000);

  it('stops cleanly on Ctrl-C', async () => {
    const r = ssoLogin();
    await urlAndCode(r);
    r.child.kill('SIGINT');
    expect(await r.done).toBe(130);
    expect(r.stderr()).toContain('sign-in cancelled');
  }, 30_000);

  it('refuses an approval without the console session: a Bearer token, or the cookie without its CSRF token', async () => {
    const r = ssoLogin();
    const { url } = await urlAndCode(r);
    const id = decodeURIComponent(url.split('#/approve/')[1]!);
    const token = JSON.parse(readFileSync(join(loginHome('ops'), 'credentials.json'), 'utf8')) as { token: string };
    expect(await postStatus(`/api/v1/logins/${id}/approve`, token.token)).toBe(403);
    const page = await signedInPage();
    // The page's own fetch without the CSRF header: refused before the route runs.
    const noCsrf = await page.evaluate(async (path) => (await fetch(path, { method: 'POST', credentials: 'same-origin' })).status, `/api/v1/logins/${id}/approve`);
    expect(noCsrf).toBe(403);
    await page.goto(url);
    await page.waitForSelector('[data-login-approve]');
    r.child.kill('SIGINT');
    expect(await r.done).toBe(130);
    await page.context().close();
  }, 60_000);
});
