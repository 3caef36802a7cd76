// First run, end to end: `portcullis serve` on a fresh data dir prints the console address and a
// one-time setup link (JSON lines: stdout is not a terminal here; under `script` it is, and the
// lines are for a person); real headless Chromium opens the link, creates the first admin with a
// password and a one-time code computed from the secret the page shows, and is signed in. Attacks:
// a short or guessed token, two requests racing with one link (one wins), the link again after
// setup ("already set up"), an old link after a restart, and the token anywhere in the log but the
// one line that prints it. A restart once an admin exists prints no link.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIRequestContext, Browser } from 'playwright-core';
import { totpAt } from '../../gateway/access/totp.js';
import { launchChromium, newContext, screenshotPath } from '../harness/browser.js';
import { BIN, type GatewayPeer, startGateway } from '../harness/gateway.js';
import { adminIn } from '../harness/cli-in-process.js';

let gw: GatewayPeer;
let browser: Browser;

beforeAll(async () => {
  [gw, browser] = await Promise.all([startGateway(), launchChromium()]);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await gw?.stop();
});

/** The setup link from the file serve named (JSON line `serve.setup_link`: off a terminal the link is never in the output), or null. */
function setupLink(log: string): string | null {
  for (const line of log.split('\n')) {
    try {
      const rec = JSON.parse(line) as { msg?: string; file?: string; url?: string };
      if (rec.msg === 'serve.setup_link') {
        expect(rec.url).toBeUndefined();
        const file = String(rec.file);
        expect(statSync(file).mode & 0o777).toBe(0o600);
        return readFileSync(file, 'utf8').trim();
      }
    } catch (e) { if (!(e instanceof SyntaxError)) throw e; }
  }
  return null;
}

async function api(): Promise<APIRequestContext> {
  return (await newContext(browser)).request;
}

describe('first run', () => {
  it('prints the console address and a setup link; refuses short, guessed and raced tokens', async () => {
    const log = gw.log();
    expect(log).toContain('"msg":"serve.console"');
    const link = setupLink(log);
    expect(link).toMatch(/^https:\/\/[^/]+\/setup\/[A-Za-z0-9_-]{43}$/);
    const token = link!.split('/setup/')[1]!;
    const req = await api();
    const base = `${gw.url}/api/v1/setup`;
    for (const bad of ['short', 'A'.repeat(43), token.slice(0, 42), `${token}x`]) {
      const r = await req.get(`${base}/${bad}`);
      expect(r.status()).toBe(404);
      expect(((await r.json()) as { error: { message: string } }).error.message).toContain('not valid');
    }
    // Two requests with the same link and a valid code at once: exactly one admin is made.
    const start = (await (await req.get(`${base}/${token}`)).json()) as { totp_secret: string };
    const code = totpAt(start.totp_secret, Date.now());
    const body = (name: string): { data: Record<string, string> } => ({ data: { name, password: 'racer-password-1', totp_secret: start.totp_secret, code } });
    // Each from its own browser context (the winner's answer sets a session cookie in its context).
    const answers = await Promise.all([(await api()).post(`${base}/${token}`, body('racer1')), (await api()).post(`${base}/${token}`, body('racer2'))]);
    expect(answers.map((a) => a.status()).sort()).toEqual([200, 409]);
    // A wrong code, and the same link again: already set up.
    const again = await req.post(`${base}/${token}`, body('racer3'));
    expect(again.status()).toBe(409);
    expect(((await again.json()) as { error: { message: string } }).error.message).toContain('already set up');
    const users = JSON.parse(gw.admin(['user', 'list', '--json']).stdout) as Array<{ name: string }>;
    expect(users.map((u) => u.name).filter((n) => n.startsWith('racer'))).toHaveLength(1);
    // Back to "no human admin": remove the winner; the next start makes a new link, the old one is dead.
    const winner = users.find((u) => u.name.startsWith('racer'))!.name;
    expect(gw.admin(['user', 'remove', winner]).code).toBe(0);
    await gw.restart();
    const fresh = setupLink(gw.log());
    expect(fresh).not.toBeNull();
    expect(fresh).not.toBe(link);
    expect((await req.get(`${gw.url}/api/v1/setup/${token}`)).status()).toBe(404);
  }, 90_000);

  it('creates the first admin in the browser with password and one-time code, signs in; then the link refuses and a restart prints none', async () => {
    const link = setupLink(gw.log())!;
    const token = link.split('/setup/')[1]!;
    const page = await (await newContext(browser)).newPage();
    await page.goto(`${gw.url}/setup/${token}`);
    await page.waitForSelector('#setup-account');
    await page.fill('input[name=user]', 'root');
    await page.fill('input[name=password]', 'first-admin-password');
    await page.fill('input[name=password-again]', 'first-admin-passwordX');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('#setup-error')).toContain('differ');
    await page.fill('input[name=password-again]', 'first-admin-password');
    await page.click('button[type=submit]');
    await page.waitForSelector('#setup-qr');
    await page.screenshot({ path: screenshotPath('first-run-setup-code'), fullPage: true });
    const secret = (await page.textContent('#setup-secret'))!.trim();
    await page.fill('input[name=code]', '000000' === totpAt(secret, Date.now()) ? '111111' : '000000');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('#setup-error')).toContain('does not match');
    await page.fill('input[name=code]', totpAt(secret, Date.now()));
    await page.click('button[type=submit]');
    await page.waitForSelector('#who');
    expect(await page.textContent('#who')).toContain('root');
    expect(page.url()).not.toContain(token);
    await page.screenshot({ path: screenshotPath('first-run-signed-in'), fullPage: true });
    const users = JSON.parse(gw.admin(['user', 'list', '--json']).stdout) as Array<{ name: string; roles: string[]; totp: boolean; kind: string }>;
    expect(users.find((u) => u.name === 'root')).toMatchObject({ roles: ['admin'], totp: true, kind: 'human' });
    const audit = gw.admin(['audit', 'list', '--json', '--limit', '1000']).stdout;
    expect(audit).toContain('"setup.completed"');
    // The link again, in a fresh browser: already set up.
    const other = await (await newContext(browser)).newPage();
    await other.goto(`${gw.url}/setup/${token}`);
    await expect.poll(() => other.textContent('#setup-error')).toContain('already set up');
    await other.screenshot({ path: screenshotPath('first-run-already-set-up'), fullPage: true });
    // The token is nowhere in the output (the harness logs at debug: every request).
    expect(gw.log()).not.toContain(token);
    await gw.restart();
    expect(setupLink(gw.log())).toBeNull();
    expect(existsSync(join(gw.dataDir, 'setup-link.txt'))).toBe(false);
    expect(gw.log()).toContain('"msg":"serve.console"');
  }, 90_000);

  it('prints human lines to a terminal (under script)', () => {
    // A throwaway data dir and serve, given a terminal by `script` and ended by `timeout` once it printed.
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-tty-'));
    try {
      const env = { ...process.env, PORTCULLIS_DATA: '', PORTCULLIS_HOME: join(dir, 'home'), PORTCULLIS_HTTP_PORT: '0', PORTCULLIS_SSH_PORT: '0', PORTCULLIS_POSTGRES_PORT: '0', PORTCULLIS_MYSQL_PORT: '0' };
      execFileSync(process.execPath, [BIN, 'init', '--data', join(dir, 'data')], { env });
      const r = spawnSync('script', ['-qec', `timeout -s INT 6 ${process.execPath} ${BIN} serve --data ${join(dir, 'data')}`, '/dev/null'], { env, encoding: 'utf8', timeout: 30_000 });
      const out = r.stdout;
      expect(out).toContain('Portcullis is running.');
      expect(out).toMatch(/\/setup\/[A-Za-z0-9_-]{43}/);
      expect(out).toMatch(/console +https:\/\/[^ ]+\//);
      expect(out).not.toContain('"msg"');
      expect(out).toMatch(/\d\d:\d\d:\d\d info +serve\.started/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);

  it('a misspelt flag stops the command before anything is stored (the CLI the newcomer uses next)', async () => {
    const r = await adminIn(gw, ['target', 'add', 'web01', '--kind', 'ssh', '--host', '127.0.0.1', '--account', 'ops', '--credental', 'ephemeral']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown flag --credental for `target add`; did you mean --credential?');
    expect((await adminIn(gw, ['target', 'list', '--json'])).stdout.trim()).toBe('[]');
    expect((await adminIn(gw, ['user', 'add', 'x', '--rol', 'admin'])).code).toBe(2);
    expect(JSON.parse((await adminIn(gw, ['user', 'list', '--json'])).stdout)).not.toContainEqual(expect.objectContaining({ name: 'x' }));
  });
});
