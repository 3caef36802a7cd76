// Password change through the real gateway's HTTPS API, CLI and web console (headless Chromium):
// the current password is required (and the one-time code when enrolled), guesses of it are
// throttled like logins, every other token and web session of the user ends and the caller's is
// replaced, an admin's reset ends all of the user's, service accounts have no password at all,
// and no password shows up in the gateway's log, the audit log or an answer.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpAt } from '../../gateway/access/totp.js';
import type { PasswordChanged } from '../../gateway/api-types.js';
import { launchChromium, newContext, screenshotPath, signIn } from '../harness/browser.js';
import { adminIn } from '../harness/cli-in-process.js';
import { type CliResult, type GatewayPeer, json, startGateway } from '../harness/gateway.js';
import { apiLogin, apiRequest } from '../harness/https-api.js';

let gw: GatewayPeer;
let browser: Browser;
const OLD = 'ops-Old-Password-1';
const NEW = 'ops-New-Password-2';
const RESET = 'ops-Reset-Password-3';
// The admin's CLI runs in process (test/harness/cli-in-process.ts): same argv, wording and exit
// codes without ~1.2 s of Node start-up a call; `portcullis passwd` below stays a real process.
const admin = (args: string[], stdin?: string): Promise<CliResult> => adminIn(gw, args, stdin);
const passwordsSeen = [OLD, NEW, RESET, 'guess-Password-0', 'web-New-Password-4', 'cli-New-Password-5', 'mfa-New-Password-6'];

beforeAll(async () => {
  gw = await startGateway();
  for (const [name, role, pw] of [['ops', 'ops', OLD], ['other', 'ops', 'other-Password-1'], ['mfa', 'ops', 'mfa-Password-1'], ['webby', 'ops', 'webby-Password-1'], ['clio', 'ops', 'clio-Password-1']] as const) {
    const r = await admin(['user', 'add', name, '--role', role, '--password-stdin'], `${pw}\n`);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
});

const whoami = async (token: string): Promise<number> => (await apiRequest(gw, 'GET', '/api/v1/whoami', { token })).status;
const change = (token: string, name: string, body: Record<string, unknown>) => apiRequest(gw, 'POST', `/api/v1/users/${name}/password`, { token, body });
const audit = async (): Promise<Array<{ code: string; actor: string; data: Record<string, unknown> }>> => json(await admin(['audit', 'list', '--limit', '10000', '--json']));

/** A browser sign-in's session cookie, taken the way a browser gets it. */
async function webSession(user: string, password: string): Promise<string> {
  const r = await apiRequest(gw, 'POST', '/api/v1/web/login', { body: { user, password } });
  const cookie = [r.headers['set-cookie'] ?? []].flat()[0] ?? '';
  return /pc_session=([^;]+)/.exec(cookie)?.[1] ?? '';
}
const cookieWhoami = async (cookie: string): Promise<number> => (await apiRequest(gw, 'GET', '/api/v1/web/me', { headers: { cookie: `pc_session=${cookie}` } })).status;

describe('changing one\'s own password', () => {
  it('refuses without the current password, or with a wrong one, and keeps every session', async () => {
    const a = await apiLogin(gw, 'ops', OLD);
    expect(await change(a, 'ops', { password: NEW })).toMatchObject({ status: 400, body: expect.stringContaining('current password') as string });
    const wrong = await change(a, 'ops', { password: NEW, current_password: 'guess-Password-0' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('invalid-credentials');
    expect(await whoami(a)).toBe(200);
    expect((await audit()).some((e) => e.code === 'auth.failed' && e.data.user === 'ops' && e.data.method === 'password-change')).toBe(true);
    expect(await apiLogin(gw, 'ops', OLD)).toMatch(/^pcat_/);
  });

  it('ends every other token and web session, replaces the caller\'s, and the old password stops working', async () => {
    const [a, b] = [await apiLogin(gw, 'ops', OLD), await apiLogin(gw, 'ops', OLD)];
    const web = await webSession('ops', OLD);
    expect(await cookieWhoami(web)).toBe(200);
    const r = await change(a, 'ops', { password: NEW, current_password: OLD });
    expect(r.status, r.body).toBe(200);
    const body = JSON.parse(r.body) as PasswordChanged;
    // b, the web session, and the two earlier logins of the first test; a itself is replaced.
    expect(body).toMatchObject({ updated: 'ops', tokens_revoked: 4 });
    expect(body.token).toMatch(/^pcat_/);
    expect(await whoami(a)).toBe(401);
    expect(await whoami(b)).toBe(401);
    expect(await cookieWhoami(web)).toBe(401);
    expect(await whoami(body.token!)).toBe(200);
    expect((await apiRequest(gw, 'POST', '/api/v1/login', { body: { user: 'ops', password: OLD } })).status).toBe(401);
    expect(await apiLogin(gw, 'ops', NEW)).toMatch(/^pcat_/);
    const revoked = (await audit()).filter((e) => e.code === 'token.revoked_all');
    expect(revoked.at(-1)).toMatchObject({ actor: 'ops', data: { user: 'ops', by: 'ops', count: 5, reason: 'password-changed' } });
    expect((await audit()).some((e) => e.code === 'user.updated' && e.data.user === 'ops' && e.data.change === 'password')).toBe(true);
  });

  it('lets a stolen session guess the current password no faster than a login', async () => {
    const thief = await apiLogin(gw, 'other', 'other-Password-1');
    for (let i = 0; i < 5; i++) expect((await change(thief, 'other', { password: 'guess-Password-0', current_password: `guess-${i}-Password` })).status).toBe(401);
    // Locked now: even the right current password is refused for a while.
    const locked = await change(thief, 'other', { password: 'guess-Password-0', current_password: 'other-Password-1' });
    expect(locked.body).toContain('locked');
    expect(await apiLogin(gw, 'other', 'other-Password-1').catch(() => 'refused')).toBe('refused');
  });

  it('asks for the one-time code too when one is enrolled', async () => {
    const uri = (await admin(['user', 'totp', 'mfa', '--json'])).stdout;
    const secret = /secret=([A-Z2-7]+)/.exec(uri)![1]!;
    const login = await apiRequest(gw, 'POST', '/api/v1/login', { body: { user: 'mfa', password: 'mfa-Password-1', totp: totpAt(secret, Date.now()) } });
    const token = (JSON.parse(login.body) as { token: string }).token;
    const noCode = await change(token, 'mfa', { password: 'mfa-New-Password-6', current_password: 'mfa-Password-1' });
    expect(noCode.body).toContain('totp-required');
    // A code works once, so not the login's again: the next 30 s step's code, which the gateway
    // takes (current step ±1) and which is after the login's step (no wait for the clock to turn).
    const ok = await change(token, 'mfa', { password: 'mfa-New-Password-6', current_password: 'mfa-Password-1', totp: totpAt(secret, Date.now() + 30_000) });
    expect(ok.status, ok.body).toBe(200);
  }, 90_000);
});

describe('service accounts and admins', () => {
  it('refuses a password for a service account, its own or set by an admin', async () => {
    expect((await admin(['user', 'add', 'ci-bot', '--role', 'investigator', '--service'])).code).toBe(0);
    const token = json<{ token: string }>(await admin(['user', 'token', 'ci-bot', '--json'])).token;
    const own = await change(token, 'ci-bot', { password: 'bot-Password-1', current_password: 'anything-1' });
    expect(own.status).toBe(400);
    expect(own.body).toContain('service account');
    expect((await admin(['user', 'passwd', 'ci-bot', '--password-stdin'], 'bot-Password-1\n')).stderr).toMatch(/service account.*\(bad-request\)/);
    expect((await admin(['user', 'add', 'ci-bot2', '--role', 'ops', '--service', '--password-stdin'], 'bot-Password-1\n')).stderr).toMatch(/service accounts authenticate with API tokens only/);
    expect(await whoami(token)).toBe(200);
  });

  it('lets an admin reset another user\'s password, which ends all of that user\'s tokens; nobody else may', async () => {
    const t = await apiLogin(gw, 'ops', NEW);
    const other = await apiLogin(gw, 'clio', 'clio-Password-1');
    expect((await change(other, 'ops', { password: RESET })).status).toBe(403);
    const r = await admin(['user', 'passwd', 'ops', '--password-stdin', '--json'], `${RESET}\n`);
    expect(r.code, r.stderr).toBe(0);
    expect(json<PasswordChanged>(r).tokens_revoked).toBeGreaterThanOrEqual(2);
    expect(await whoami(t)).toBe(401);
    expect(await apiLogin(gw, 'ops', RESET)).toMatch(/^pcat_/);
    expect((await audit()).filter((e) => e.code === 'token.revoked_all').at(-1)).toMatchObject({ actor: 'admin', data: { user: 'ops', reason: 'password-reset' } });
  });
});

describe('the CLI and the web console', () => {
  it('portcullis passwd keeps the CLI signed in with a new token and ends the others', async () => {
    expect(gw.login('clio', 'clio-Password-1').code).toBe(0);
    const elsewhere = await apiLogin(gw, 'clio', 'clio-Password-1');
    const r = gw.as('clio', ['passwd', '--password-stdin'], 'clio-Password-1\ncli-New-Password-5\n');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/password changed for clio; \d+ other token\(s\).*\nthis login goes on with a new token/);
    expect(r.stdout).not.toMatch(/pcat_/);
    expect(gw.as('clio', ['whoami']).code).toBe(0);
    expect(await whoami(elsewhere)).toBe(401);
    expect(gw.as('clio', ['passwd', '--password-stdin'], 'wrong-Password-9\nx-New-Password-7\n').stderr).toMatch(/invalid-credentials/);
  });

  it('changes the password in the browser: this browser goes on, another one is signed out', async () => {
    const mine = await (await newContext(browser)).newPage();
    const theirs = await (await newContext(browser)).newPage();
    await signIn(mine, gw.url, 'webby', 'webby-Password-1');
    await signIn(theirs, gw.url, 'webby', 'webby-Password-1');
    await mine.click('a[href="#/password"]');
    await mine.fill('input[name=current-password]', 'webby-Password-1');
    await mine.fill('input[name=new-password]', 'web-New-Password-4');
    await mine.fill('input[name=repeat-password]', 'web-New-Password-4');
    await mine.click('button[type=submit]');
    await mine.waitForSelector('#password-done:has-text("Password changed. 1 sign-in")');
    await mine.screenshot({ path: screenshotPath('password-changed') });
    // The new cookie and CSRF token work for a change (a request needs both).
    await mine.goto(`${gw.url}/#/requests`);
    await mine.waitForSelector('h2:has-text("Pending requests")');
    const logout = await mine.evaluate(async () => (await fetch('/api/v1/web/me')).status);
    expect(logout).toBe(200);
    await theirs.reload();
    await theirs.waitForSelector('input[name=password]');
    expect(await apiLogin(gw, 'webby', 'web-New-Password-4')).toMatch(/^pcat_/);
  });

  it('never writes a password into the gateway log, the audit log or an answer', async () => {
    const seen = gw.log() + '\n' + (await admin(['audit', 'export'])).stdout;
    for (const p of passwordsSeen) expect(seen).not.toContain(p);
  });
});
