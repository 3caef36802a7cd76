// Live view and approvals in real headless Chromium: watch an SSH session while a real ssh client
// types, kill it from the page (the client is cut with the reason), approve a request as an
// approver and fail to approve one's own.
import { spawn } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminIn, asIn, loginIn } from '../harness/cli-in-process.js';
import { waitFor } from '../harness/common.js';
import { type CliResult, json } from '../harness/gateway.js';
import { launchChromium, newContext, screenshotPath, signIn } from '../harness/browser.js';
import { type SshFixture, Tmux, startSshFixture } from '../harness/ssh-fixture.js';

let fx: SshFixture;
let browser: Browser;
// The CLI in process (test/harness/cli-in-process.ts): the same code and output without ~1.2 s of
// Node start-up a call.
const admin = (args: string[], stdin?: string): Promise<CliResult> => adminIn(fx.gw, args, stdin);
const as = (user: string, args: string[]): Promise<CliResult> => asIn(fx.gw, user, args);

beforeAll(async () => {
  fx = await startSshFixture();
  await admin(['user', 'add', 'boss', '--role', 'admin', '--password-stdin'], 'boss-Password-1\n');
  await admin(['user', 'add', 'alice', '--role', 'approver', '--password-stdin'], 'alice-Password-1\n');
  await admin(['user', 'add', 'ops2', '--role', 'ops', '--role', 'approver', '--password-stdin'], 'ops2-Password-1\n');
  await admin(['policy', 'add', 'ops-web', '--roles', 'ops', '--targets', 'web01', '--approvals', '1', '--approver-roles', 'approver']);
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await fx?.stop();
});


describe('live view and approvals in the browser', () => {
  it('shows a running session as it happens, and an admin kills it', async () => {
    const grantId = json<{ id: string }>(await admin(['grant', 'add', '--user', 'ops', '--target', 'web01', '--for', '30m', '--reason', 'test', '--json'])).id;
    const t = Tmux.start(`ssh ${fx.sshOpts(['-tt', '-i', fx.opsKey, '-o', 'BatchMode=yes', '-o', 'LogLevel=INFO']).join(' ')} ops+web01@127.0.0.1`);
    try {
      await t.waitFor(/\$\s*$/m);
      t.send('echo "before-watching"');
      await t.waitFor(/^before-watching/m);
      const page = await (await newContext(browser)).newPage();
      await signIn(page, fx.gw.url, 'boss', 'boss-Password-1');
      await page.waitForSelector('tr.live a');
      await page.click('tr.live a');
      await page.waitForSelector('#live-status:has-text("live")');
      // What was recorded before the viewer came is there, with no gap to what follows.
      await page.waitForFunction(() => document.querySelector('#terminal .xterm-rows')?.textContent?.includes('before-watching'));
      t.send('echo "while-watching-$((40+2))"');
      await page.waitForFunction(() => document.querySelector('#terminal .xterm-rows')?.textContent?.includes('while-watching-42'), undefined, { timeout: 10_000 });
      await page.screenshot({ path: screenshotPath('live-view') });
      await page.click('#kill');
      await t.waitFor(/session ended by a Portcullis admin/, 10_000);
      await waitFor('session end', async () => (JSON.parse((await admin(['session', 'list', '--json'])).stdout) as Array<{ end_reason: string | null }>).some((s) => s.end_reason === 'killed-by-admin'), 10_000);
      await page.waitForSelector('#live-status:has-text("session")');
      await page.screenshot({ path: screenshotPath('live-killed') });
    } finally {
      t.kill();
      await admin(['grant', 'revoke', grantId]);
    }
    const sessions = JSON.parse((await admin(['session', 'list', '--json'])).stdout) as Array<{ end_reason: string }>;
    expect(sessions[0]!.end_reason).toBe('killed-by-admin');
  });

  it('lets an approver approve a pending request, and nobody approve their own', async () => {
    await loginIn(fx.gw, 'ops2', 'ops2-Password-1');
    const own = JSON.parse((await as('ops2', ['request', 'web01', '--for', '10m', '--reason', 'my own', '--json'])).stdout) as { id: string };
    await loginIn(fx.gw, 'ops', 'ops-Password-1');
    const theirs = JSON.parse((await as('ops', ['request', 'web01', '--for', '10m', '--reason', 'disk full', '--json'])).stdout) as { id: string };

    const mine = await (await newContext(browser)).newPage();
    await signIn(mine, fx.gw.url, 'ops2', 'ops2-Password-1');
    await mine.goto(`${fx.gw.url}/#/requests`);
    await mine.waitForSelector(`tr[data-request="${own.id}"]`);
    await mine.click(`button[data-approve="${own.id}"]`);
    await mine.waitForSelector('.error:has-text("cannot decide your own request")');
    await mine.screenshot({ path: screenshotPath('requests-self-approval') });

    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'alice', 'alice-Password-1');
    await page.goto(`${fx.gw.url}/#/requests`);
    await page.waitForSelector(`tr[data-request="${theirs.id}"]`);
    await page.screenshot({ path: screenshotPath('requests') });
    await page.click(`button[data-approve="${theirs.id}"]`);
    await page.waitForSelector(`tr[data-request="${theirs.id}"]`, { state: 'detached' });
    const grants = JSON.parse((await as('ops', ['grant', 'list', '--active', '--json'])).stdout) as Array<{ approvers: string[]; reason: string }>;
    expect(grants.find((g) => g.reason === 'disk full')?.approvers).toEqual(['alice']);
  });

  // The gateway's own Origin (web-origin.test.ts: any other, or none, is refused 403 before this).
  it('refuses a live-view WebSocket without a valid session', async () => {
    const code = await new Promise<number>((resolve) => {
      const ws = spawn(process.execPath, ['-e', `
        const WebSocket = require('ws');
        const ws = new WebSocket('${fx.gw.url.replace('https', 'wss')}/api/v1/sessions/ses_x/live', { rejectUnauthorized: false, headers: { Origin: '${fx.gw.url}' } });
        ws.on('unexpected-response', (req, res) => { console.log(res.statusCode); process.exit(0); });
        ws.on('open', () => { console.log('open'); process.exit(0); });
        ws.on('error', () => {});
      `], { cwd: process.cwd() });
      let out = '';
      ws.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      ws.on('close', () => resolve(Number(out.trim())));
    });
    expect(code).toBe(401);
  });
});
