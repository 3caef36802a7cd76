// Issue 18 item 3 end to end, in real headless Chromium against the built gateway and a real sshd:
// a requester signs in (and lands on My access), finds web01 in the catalog, sees on the request
// form that it needs one approval before sending, and sends it; the webhook (a real HTTP receiver)
// carries a link to the request, which an approver opens in a second browser context, signs in
// through, and approves; the requester sees the countdown, copies the ssh line from the page and
// connects with exactly that line through the gateway (OpenSSH in tmux), then gives the grant back
// and the live session is cut. Screenshots: catalog, request form, My access.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, newContext, screenshotPath, signIn } from '../harness/browser.js';
import { waitFor } from '../harness/common.js';
import { type SshFixture, Tmux, startSshFixture } from '../harness/ssh-fixture.js';

let fx: SshFixture;
let browser: Browser;
let hooks: Server;
const received: Array<{ event: string; text: string; url?: string; data: { request?: { id: string } } }> = [];

beforeAll(async () => {
  hooks = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => { received.push(JSON.parse(body) as (typeof received)[number]); res.writeHead(204).end(); });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
  fx = await startSshFixture({ PORTCULLIS_WEBHOOK_URL: `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook` });
  fx.gw.admin(['user', 'add', 'alice', '--role', 'approver', '--password-stdin'], 'alice-Password-1\n');
  fx.gw.admin(['policy', 'add', 'ops-web', '--roles', 'ops', '--targets', 'web01', '--approvals', '1', '--approver-roles', 'approver', '--max', '2h']);
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await fx?.stop();
  await new Promise((r) => hooks?.close(r));
});

describe('self-service access in the browser', () => {
  it('requests from the catalog, is approved from the webhook\'s link, connects with the copied line, gives it back and is cut', async () => {
    const ctx = await newContext(browser);
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: fx.gw.url });
    const me = await ctx.newPage();
    await signIn(me, fx.gw.url, 'ops', 'ops-Password-1');
    // A requester's home is what they hold.
    await me.waitForFunction(() => location.hash === '#/my-access');
    await me.waitForSelector('text=You hold no access right now');

    await me.click('a[href="#/catalog"]');
    await me.waitForSelector('tr[data-catalog="web01/default"]');
    expect(await me.textContent('tr[data-catalog="web01/default"]')).toContain('needs 1 approval from approver');
    await me.screenshot({ path: screenshotPath('self-service-catalog') });
    await me.click('a[data-request-link="web01/default"]');

    // The form says what will happen before anything is sent, and holds back what the policy would refuse.
    await me.waitForSelector('[data-preview] [data-approval="approval"]');
    expect(await me.textContent('[data-preview]')).toContain('Needs 1 approval from approver');
    await me.fill('input[name=minutes]', '500');
    await me.waitForSelector('[data-preview]:has-text("At most 2h may be requested")');
    expect(await me.isDisabled('button[data-submit]')).toBe(true);
    await me.fill('input[name=minutes]', '20');
    await me.fill('input[name=reason]', 'rotate the logs');
    await me.screenshot({ path: screenshotPath('self-service-request-form') });
    await me.click('button[data-submit]');
    await me.waitForSelector('[data-result="pending"]');

    // The approvers' webhook links straight to the request.
    await waitFor('the request.created webhook', () => received.some((b) => b.event === 'request.created'), 15_000);
    const hook = received.find((b) => b.event === 'request.created')!;
    const id = hook.data.request!.id;
    expect(hook.url).toBe(`${fx.gw.url}/#/requests/${id}`);
    expect(hook.text).toContain(hook.url);

    // My access lists it as waiting, with who must approve.
    await me.goto(`${fx.gw.url}/#/my-access`);
    await me.waitForSelector(`tr[data-pending="${id}"]`);
    expect(await me.textContent(`tr[data-pending="${id}"]`)).toContain('1 more from approver (e.g. alice)');

    // The approver follows the link, signs in on the way, and lands on that very request.
    const approver = await (await newContext(browser)).newPage();
    await approver.goto(hook.url!);
    await approver.fill('input[name=user]', 'alice');
    await approver.fill('input[name=password]', 'alice-Password-1');
    await approver.click('button[type=submit]');
    await approver.waitForSelector(`tr.at[data-request="${id}"]`);
    await approver.click(`button[data-approve="${id}"]`);
    await approver.waitForSelector(`tr[data-request="${id}"]`, { state: 'detached' });

    // The requester's page picks the grant up by itself, with a running countdown.
    const card = me.locator('section[data-grant]');
    await card.waitFor({ timeout: 15_000 });
    const grantId = (await card.getAttribute('data-grant'))!;
    const first = await me.textContent(`[data-countdown="${grantId}"]`);
    expect(first).toMatch(/^(19|20):\d\d$/);
    await me.waitForFunction(([g, t]) => document.querySelector(`[data-countdown="${g}"]`)?.textContent !== t, [grantId, first] as const, { timeout: 5_000 });
    await me.screenshot({ path: screenshotPath('self-service-my-access') });

    await me.click(`button[data-copy="${grantId}"]`);
    await me.waitForSelector(`button[data-copy="${grantId}"]:has-text("Copied")`);
    const line = await me.evaluate(() => navigator.clipboard.readText());
    expect(line).toBe(`ssh -p ${fx.gw.ports.ssh} ops+web01@127.0.0.1`);
    expect(await me.textContent(`[data-connect="${grantId}"]`)).toBe(line);

    // Exactly the copied line, with only the test's client options (key, known hosts, a terminal) before it.
    const opts = ['-tt', '-i', fx.opsKey, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(fx.dir, 'known_hosts')}`];
    const t = Tmux.start(line.replace(/^ssh /, `ssh ${opts.join(' ')} `));
    try {
      await t.waitFor(/\$\s*$/m);
      t.send('echo "connected-$((6*7))"');
      await t.waitFor(/^connected-42/m);
      await waitFor('the live session on My access', async () => {
        await me.reload();
        await me.waitForSelector(`section[data-grant="${grantId}"]`);
        return (await me.locator('tr.live[data-session]').count()) === 1;
      }, 15_000);

      // Attacks from a browser: a request carrying the cookie but no CSRF token (what another site
      // could send), and another signed-in user giving back someone else's grant. Neither ends it.
      const forged = await me.evaluate(async (g) => (await fetch(`/api/v1/grants/${g}/give-back`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, grantId);
      expect(forged).toBe(403);
      const stranger = await approver.evaluate(async (g) => {
        const csrf = ((await (await fetch('/api/v1/web/me')).json()) as { csrf: string }).csrf;
        return (await fetch(`/api/v1/grants/${g}/give-back`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: '{}' })).status;
      }, grantId);
      expect(stranger).toBe(404);
      t.send('echo "still-$((6*7))"');
      await t.waitFor(/^still-42/m);

      await me.click(`button[data-give-back="${grantId}"]`);
      await me.click(`button[data-give-back-confirm="${grantId}"]`);
      await t.waitFor(/your access to web01 was revoked/, 10_000);
      await me.waitForSelector('text=You gave back your access to web01');
      await me.waitForSelector(`section[data-grant="${grantId}"]`, { state: 'detached' });
    } finally {
      t.kill();
    }
    const grants = JSON.parse(fx.gw.admin(['grant', 'list', '--json']).stdout) as Array<{ id: string; status: string; revoked_by: string; revoke_reason: string }>;
    expect(grants.find((g) => g.id === grantId)).toMatchObject({ status: 'revoked', revoked_by: 'ops', revoke_reason: 'given back' });
    await waitFor('the session to end', () => {
      const s = JSON.parse(fx.gw.admin(['session', 'list', '--json']).stdout) as Array<{ end_reason: string | null }>;
      return s[0]?.end_reason === 'grant-revoked';
    }, 10_000);
  });
});
