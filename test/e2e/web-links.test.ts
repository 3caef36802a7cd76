// One-time vendor links end to end: real headless Chromium opening the link's page and terminal,
// real OpenSSH (the target's sshd, and the ssh client for the one-time SSH login), the real gateway.
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/common.js';
import { launchChromium, newContext, screenshotPath } from '../harness/browser.js';
import { json } from '../harness/gateway.js';
import { type SshFixture, startSshFixture } from '../harness/ssh-fixture.js';
import { RecordingLayout } from '../../recorder/layout.js';
import { readRecordingMeta } from '../../recorder/meta.js';

let fx: SshFixture;
let browser: Browser;
/** Every byte the vendor's browser received, HTTP bodies and WebSocket frames, for the canary check. */
const seenByBrowser: string[] = [];

interface LinkOut { id: string; url: string; status: string; uses_left: number }
interface SessionRow { id: string; user: string | null; end_reason: string | null; link: { label: string; issuer: string } | null }

function createLink(extra: string[] = [], label = 'ACME support, ticket 4411'): LinkOut {
  return json<LinkOut>(fx.gw.admin(['link', 'create', 'web01', '--ttl', '2h', '--label', label, '--json', ...extra]));
}

function sessionsOf(linkId: string): SessionRow[] {
  return json<SessionRow[]>(fx.gw.admin(['session', 'list', '--json'])).filter((s) => s.user === `link:${linkId}`);
}

/** A fresh browser page that records everything it receives. */
async function vendorPage(): Promise<Page> {
  const page = await (await newContext(browser)).newPage();
  page.on('response', (r) => { void r.text().then((t) => seenByBrowser.push(t), () => undefined); });
  page.on('websocket', (ws) => {
    ws.on('framereceived', (f) => seenByBrowser.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('latin1')));
  });
  return page;
}

const screenText = (page: Page): Promise<string> => page.locator('#terminal .xterm-rows').innerText();

async function openTerminal(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('#link-card');
  await page.click('#open');
  await page.waitForSelector('#terminal .xterm-rows');
  await waitFor('the shell prompt', async () => /\$\s*$/m.test(await screenText(page)), 20_000);
  await page.click('#terminal');
}

async function run(page: Page, command: string, expect: RegExp): Promise<void> {
  await page.keyboard.type(command);
  await page.keyboard.press('Enter');
  await waitFor(`output of ${command}`, async () => expect.test(await screenText(page)), 20_000);
}

beforeAll(async () => {
  fx = await startSshFixture({ PORTCULLIS_WARN_BEFORE: '3s' });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await fx?.stop();
});

describe('one-time vendor links', () => {
  it('opens a recorded browser terminal once; the recording and the audit carry the link', async () => {
    const link = createLink();
    expect(link.url).toMatch(new RegExp(`^${fx.gw.url}/l/[A-Za-z0-9_-]{43}$`));
    const page = await vendorPage();
    await page.goto(link.url);
    await page.waitForSelector('#consent');
    expect(await page.locator('#link-card').innerText()).toMatch(/Terminal on web01[\s\S]*admin invited you: ACME support, ticket 4411[\s\S]*recorded/);
    await page.screenshot({ path: screenshotPath('link-page') });
    await openTerminal(page, link.url);
    await run(page, 'echo vendor-$((6*7))', /^vendor-42/m);
    await page.screenshot({ path: screenshotPath('link-terminal') });
    await run(page, 'exit', /logout|exit/);
    await page.waitForSelector('#vendor-status:has-text("Session ended")');

    const [s] = sessionsOf(link.id);
    expect(s?.link).toMatchObject({ label: 'ACME support, ticket 4411', issuer: 'admin' });
    await waitFor('the recording closed', () => Boolean(readRecordingMeta(RecordingLayout.inDataDir(fx.gw.dataDir, s!.id).meta)?.end_reason), 10_000);
    const meta = readRecordingMeta(RecordingLayout.inDataDir(fx.gw.dataDir, s!.id).meta);
    expect(meta?.link?.label).toBe('ACME support, ticket 4411');
    expect(readFileSync(RecordingLayout.inDataDir(fx.gw.dataDir, s!.id).cast(1), 'utf8')).toContain('vendor-42');
    const audit = json<Array<{ code: string; data: unknown }>>(fx.gw.admin(['audit', 'list', '--limit', '1000', '--json']));
    const labelled = (code: string): boolean => audit.some((e) => e.code === code && JSON.stringify(e.data).includes('ACME support, ticket 4411'));
    expect(labelled('link.created')).toBe(true);
    expect(labelled('link.opened')).toBe(true);
    expect(labelled('session.started')).toBe(true);

    // Used: a second open (another browser) is refused, and says why.
    const again = await vendorPage();
    await again.goto(link.url);
    await again.waitForSelector('#link-error:has-text("already been used")');
    await again.screenshot({ path: screenshotPath('link-used') });
  });

  it('gives exactly one terminal to 50 simultaneous opens', async () => {
    const link = createLink();
    const token = link.url.split('/l/')[1]!;
    const page = await vendorPage();
    await page.goto(link.url);
    await page.waitForSelector('#link-card');
    const statuses = await page.evaluate(async (t) => Promise.all(Array.from({ length: 50 }, () =>
      fetch('/api/v1/l/open', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: t }) })
        .then(async (r) => `${r.status} ${(await r.text()).includes('already been used') ? 'used' : ''}`))), token);
    expect(statuses.filter((s) => s.startsWith('200'))).toHaveLength(1);
    expect(statuses.filter((s) => s === '410 used')).toHaveLength(49);
    expect(sessionsOf(link.id)).toHaveLength(1);
    fx.gw.admin(['link', 'revoke', link.id]);
  });

  it('reconnects a reloaded page to the same session without using the link again', async () => {
    const link = createLink(['--uses', '1']);
    const page = await vendorPage();
    await openTerminal(page, link.url);
    await run(page, 'echo before-reload', /^before-reload/m);
    await page.reload();
    await page.waitForSelector('#terminal .xterm-rows');
    // What the shell printed before the reload comes back first, then the live stream.
    await waitFor('the earlier output replayed', async () => /^before-reload/m.test(await screenText(page)), 20_000);
    await page.click('#terminal');
    await run(page, 'echo after-reload', /^after-reload/m);
    expect(sessionsOf(link.id)).toHaveLength(1);
    // Another browser has no resume cookie: the link is used for it.
    const other = await vendorPage();
    await other.goto(link.url);
    await other.waitForSelector('#link-error:has-text("already been used")');
    fx.gw.admin(['link', 'revoke', link.id]);
  });

  it('warns before the session maximum and cuts the terminal at it, visibly', async () => {
    const link = createLink(['--session-max', '6s']);
    const page = await vendorPage();
    await openTerminal(page, link.url);
    await page.waitForSelector('#vendor-notice:has-text("ends in")', { timeout: 10_000 });
    await page.waitForSelector('#vendor-notice.error', { timeout: 10_000 });
    expect(await page.locator('#vendor-notice').innerText()).toMatch(/time on web01 is up/);
    expect(await page.locator('#vendor-status').innerText()).toContain('grant-expired');
    await page.screenshot({ path: screenshotPath('link-expired') });
    await waitFor('the session end recorded', () => sessionsOf(link.id)[0]?.end_reason === 'grant-expired', 5000);
  });

  it('cuts the terminal at once when the link is revoked', async () => {
    const link = createLink();
    const page = await vendorPage();
    await openTerminal(page, link.url);
    // The revoke cuts the session before the API answers; the clock starts when the CLI (a Node
    // process, over a second to start on a loaded machine) has returned.
    fx.gw.admin(['link', 'revoke', link.id]);
    const t0 = Date.now();
    await page.waitForSelector('#vendor-notice.error:has-text("revoked")', { timeout: 5000 });
    expect(Date.now() - t0).toBeLessThan(3000);
    await waitFor('the session end recorded', () => sessionsOf(link.id)[0]?.end_reason === 'grant-revoked', 5000);
    const again = await vendorPage();
    await again.goto(link.url);
    await again.waitForSelector('#link-error:has-text("revoked")');
  });

  it('lets a vendor use a real SSH client instead, once and only once', async () => {
    const link = createLink();
    const page = await vendorPage();
    await page.goto(link.url);
    const command = await page.locator('#ssh-command').textContent() ?? '';
    const user = /(link-[A-Za-z0-9_-]{22})@/.exec(command)?.[1];
    expect(user).toBeDefined();
    expect(command).toContain(`-p ${fx.gw.ports.ssh}`);
    const first = await fx.ssh(user!, ['echo', 'via-ssh-$((2+2))'], { extra: ['-o', 'PubkeyAuthentication=no'] });
    expect(first.stdout.toString()).toBe('via-ssh-4\n');
    expect(first.status).toBe(0);
    // Not in batch mode: OpenSSH shows the gateway's refusal through keyboard-interactive.
    const second = await fx.ssh(user!, ['echo', 'again'], {
      extra: ['-o', 'PubkeyAuthentication=no', '-o', 'BatchMode=no', '-o', 'LogLevel=INFO', '-o', 'PreferredAuthentications=keyboard-interactive'],
    });
    expect(second.status).not.toBe(0);
    expect(second.stderr).toMatch(/already been used/);
    const [s] = sessionsOf(link.id);
    expect(s?.link?.label).toBe('ACME support, ticket 4411');
    await page.reload();
    await page.waitForSelector('#link-error:has-text("already been used")');
  });

  it('closes a socket that sends bad frames with the reason, and the session survives it', async () => {
    const link = createLink();
    const page = await vendorPage();
    await openTerminal(page, link.url);
    const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${fx.gw.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    const before = rss();
    // A second socket from the same browser takes the terminal over; bad frames close it with a reason.
    const closes = await page.evaluate(async () => {
      const attempt = (send: (ws: WebSocket) => void): Promise<string> => new Promise((resolve) => {
        const ws = new WebSocket(`wss://${location.host}/api/v1/l/terminal`);
        ws.onopen = (): void => send(ws);
        ws.onclose = (ev): void => resolve(`${ev.code} ${ev.reason}`);
      });
      return [
        await attempt((ws) => ws.send(new Uint8Array([1, 2, 3]))),
        await attempt((ws) => ws.send('not json')),
        await attempt((ws) => ws.send(JSON.stringify({ type: 'input', data: 'x'.repeat(100_000) }))),
      ];
    });
    expect(closes[0]).toMatch(/^1008 binary frames are not terminal data/);
    expect(closes[1]).toMatch(/^1008 a frame was not JSON/);
    expect(closes[2]).toMatch(/^1009/);
    // The session survived; the page reconnects by reload (same browser).
    await page.reload();
    // The page's own socket first, so the one below takes over rather than being taken over.
    await page.waitForSelector('#vendor-status:has-text("Connected")');
    await page.click('#terminal');
    await run(page, 'echo survived-$((3*3))', /^survived-9/m);
    expect(rss() - before).toBeLessThan(200);
    fx.gw.admin(['link', 'revoke', link.id]);
  }, 150_000);

  it('never lets the vaulted password reach the browser', () => {
    expect(seenByBrowser.length).toBeGreaterThan(20);
    for (const body of seenByBrowser) expect(body).not.toContain(fx.sshd.password);
    expect(fx.gw.log()).not.toContain(fx.sshd.password);
  });
});

// Last: it locks the test's address out of link lookups for ten minutes.
describe('link guessing', () => {
  it('says what is wrong with a malformed or unknown token, and locks an address that keeps guessing', async () => {
    const page = await vendorPage();
    await page.goto(`${fx.gw.url}/l/not-a-token`);
    await page.waitForSelector('#link-error:has-text("malformed")');
    await page.goto(`${fx.gw.url}/l/${'A'.repeat(43)}`);
    await page.waitForSelector('#link-error:has-text("not valid")');
    const codes = await page.evaluate(async () => {
      const out: number[] = [];
      for (let i = 0; i < 12; i++) {
        out.push((await fetch('/api/v1/l/info', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: `${'B'.repeat(42)}${i % 10}` }) })).status);
      }
      return out;
    });
    expect(codes.slice(0, 8)).toEqual(Array(8).fill(404));
    expect(codes.slice(-2)).toEqual([429, 429]);
  });
});
