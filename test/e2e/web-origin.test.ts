// Cross-origin use of a signed-in browser, in real headless Chromium against a real sshd: a page on
// another port of 127.0.0.1 (same site, so the SameSite=Strict cookie goes along) tries to watch a
// live SSH session with an investigator's cookie, to kill it, and to open a vendor terminal. Every
// attempt is refused 403 before any session data flows, audited under the investigator's name;
// the console itself, on the gateway's own origin, still watches the session (until a password
// reset ends the investigator's sessions, the open live view included).
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/common.js';
import { launchChromium, newContext, screenshotPath, signIn } from '../harness/browser.js';
import { type ForeignPage, startForeignPage } from '../harness/foreign-page.js';
import { json } from '../harness/gateway.js';
import { type SshFixture, Tmux, startSshFixture } from '../harness/ssh-fixture.js';

let fx: SshFixture;
let browser: Browser;
let foreign: ForeignPage;

beforeAll(async () => {
  fx = await startSshFixture();
  fx.gw.admin(['user', 'add', 'inv', '--role', 'investigator', '--password-stdin'], 'inv-Password-1\n');
  fx.gw.admin(['user', 'add', 'boss', '--role', 'admin', '--password-stdin'], 'boss-Password-1\n');
  foreign = await startForeignPage(fx.gw.dataDir);
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await foreign?.close();
  await fx?.stop();
});

interface SocketOutcome { opened: boolean; messages: number; closeCode: number | null }

/** Opens a WebSocket from whatever page `ctx` is on and reports what came of it. */
async function trySocket(ctx: BrowserContext, pageUrl: string, socketUrl: string): Promise<SocketOutcome> {
  const page = await ctx.newPage();
  await page.goto(pageUrl);
  const outcome = await page.evaluate((url) => new Promise<SocketOutcome>((resolve) => {
    const r: SocketOutcome = { opened: false, messages: 0, closeCode: null };
    const ws = new WebSocket(url);
    ws.onopen = (): void => { r.opened = true; };
    ws.onmessage = (): void => { r.messages++; };
    ws.onclose = (e): void => { r.closeCode = e.code; resolve(r); };
    setTimeout(() => resolve(r), 10_000);
  }), socketUrl);
  await page.close();
  return outcome;
}

const audit = (): Array<{ code: string; actor: string; data: Record<string, unknown> }> => json(fx.gw.admin(['audit', 'list', '--limit', '10000', '--json']));

describe('WebSockets and changes only from the gateway\'s own origin', () => {
  it('refuses a live view opened by a page on another port with an investigator\'s cookie; the console still shows it', async () => {
    const grantId = fx.grant('ops', 'web01', '30m');
    const t = Tmux.start(`ssh ${fx.sshOpts(['-tt', '-i', fx.opsKey, '-o', 'BatchMode=yes']).join(' ')} ops+web01@127.0.0.1`);
    try {
      await t.waitFor(/\$\s*$/m);
      t.send('echo "secret-output-$((6*7))"');
      await t.waitFor(/^secret-output-42/m);
      const live = json<Array<{ id: string }>>(fx.gw.admin(['session', 'list', '--live', '--json']));
      const id = live[0]!.id;
      const ctx = await newContext(browser);
      const consolePage = await ctx.newPage();
      await signIn(consolePage, fx.gw.url, 'inv', 'inv-Password-1');
      const wss = `${fx.gw.url.replace('https', 'wss')}/api/v1/sessions/${id}/live`;

      // The attacker's page: same browser, same cookie jar, another origin.
      const attack = await trySocket(ctx, foreign.origin + '/', wss);
      expect(attack).toMatchObject({ opened: false, messages: 0 });
      await waitFor('origin refusal in the audit log', () => audit().some((e) => e.code === 'http.origin_refused'), 10_000);
      const refusal = audit().find((e) => e.code === 'http.origin_refused');
      // Audited under the investigator's name: the cookie did reach the gateway, and was not enough.
      expect(refusal).toMatchObject({ actor: 'inv', data: { user: 'inv', origin: foreign.origin, reason: 'foreign', kind: 'upgrade', path: `/api/v1/sessions/${id}/live` } });
      expect(audit().filter((e) => e.code === 'recording.viewed' && e.data.file === 'live')).toHaveLength(0);

      // A same-site page posting a change with the cookie (no CSRF token it could know anyway).
      const poster = await ctx.newPage();
      await poster.goto(foreign.origin + '/');
      await poster.evaluate(async (url) => { await fetch(url, { method: 'POST', credentials: 'include', mode: 'no-cors', body: '{}' }).catch(() => undefined); },
        `${fx.gw.url}/api/v1/sessions/${id}/kill`);
      await waitFor('request refusal logged', () => fx.gw.log().split('\n').some((l) => l.includes('"http.origin_refused"') && l.includes('"kind":"request"')), 10_000);
      // Audited once a minute per user at most: a page looping in the victim's browser cannot flood the log.
      expect(audit().filter((e) => e.code === 'http.origin_refused')).toHaveLength(1);
      expect(json<Array<{ id: string }>>(fx.gw.admin(['session', 'list', '--live', '--json'])).map((s) => s.id)).toContain(id);

      // The console, on the gateway's origin, watches the same session.
      await consolePage.goto(`${fx.gw.url}/#/live/${id}`);
      await consolePage.waitForSelector('#live-status:has-text("live")');
      await consolePage.waitForFunction(() => document.querySelector('#terminal .xterm-rows')?.textContent?.includes('secret-output-42'));
      await consolePage.screenshot({ path: screenshotPath('live-own-origin') });
      expect(audit().filter((e) => e.code === 'recording.viewed' && e.data.file === 'live')).toHaveLength(1);
      expect(fx.gw.log()).toMatch(/"msg":"http\.origin_refused"/);

      // An admin resets the investigator's password: every session of theirs ends, the open live view too.
      expect(fx.gw.admin(['user', 'passwd', 'inv', '--password-stdin'], 'inv-New-Password-2\n').code).toBe(0);
      await consolePage.waitForSelector('#live-status:has-text("disconnected (1008)")', { timeout: 15_000 });
    } finally {
      t.kill();
      fx.gw.admin(['grant', 'revoke', grantId]);
    }
  });

  it('refuses a vendor terminal socket from another origin before looking for a terminal', async () => {
    const ctx = await newContext(browser);
    const r = await trySocket(ctx, foreign.origin + '/', `${fx.gw.url.replace('https', 'wss')}/api/v1/l/terminal`);
    expect(r).toMatchObject({ opened: false, messages: 0 });
    const refusals = (): string[] => fx.gw.log().split('\n').filter((l) => l.includes('"http.origin_refused"') && l.includes('"/api/v1/l/terminal"'));
    await waitFor('refusal logged', () => refusals().length > 0, 10_000);
    expect(refusals()[0]).toContain(`"origin":"${foreign.origin}"`);
  });

  it('answers a socket without Origin, or with a foreign one, 403; with the gateway\'s own Origin a bad token gets 401', async () => {
    const status = async (headers: Record<string, string>): Promise<number> => {
      const { default: WebSocket } = await import('ws');
      return new Promise<number>((resolve) => {
        const ws = new WebSocket(`${fx.gw.url.replace('https', 'wss')}/api/v1/sessions/ses_x/live`, { rejectUnauthorized: false, headers });
        ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
        ws.on('open', () => { resolve(101); ws.close(); });
        ws.on('error', () => undefined);
      });
    };
    const bad = { Authorization: 'Bearer pcat_nonsense' };
    expect(await status(bad)).toBe(403);
    expect(await status({ ...bad, Origin: foreign.origin })).toBe(403);
    expect(await status({ ...bad, Origin: 'null' })).toBe(403);
    expect(await status({ ...bad, Origin: fx.gw.url })).toBe(401);
  });
});
