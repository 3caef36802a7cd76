// Session risk end to end (issue 17 item 2) with real psql through the gateway to a real
// PostgreSQL 15 and a real webhook receiver on loopback: a session that returns more rows than the
// (test-low) mass-export threshold, at a time outside the configured business hours, is flagged
// with both while it runs; the flags are audited (session.flagged), sent to the webhook, marked in
// its statements view and listed by `session list --flagged --min-score`; and in real headless
// Chromium the sessions page sorted by score puts it above a later, unflagged session.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/common.js';
import { adminIn } from '../harness/cli-in-process.js';
import type { CliResult } from '../harness/gateway.js';
import { launchChromium, newContext, screenshotPath, signIn } from '../harness/browser.js';
import { type PgFixture, startPgFixture } from '../harness/pg-fixture.js';

interface Hook { event: string; text: string; data: { session: string; flag: string; detail: string; score: number } }
interface SessionRow { id: string; risk_score: number; flags: Array<{ kind: string; detail: string; weight: number }> }

let fx: PgFixture;
let receiver: Server;
let browser: Browser;
const hooks: Hook[] = [];
let risky = '';
let calm = '';

/** A window of two hours that starts two hours from now (UTC): now is outside it. */
function hoursAway(): string {
  const h = new Date().getUTCHours();
  return `${String((h + 2) % 24).padStart(2, '0')}-${String((h + 4) % 24).padStart(2, '0')}`;
}

// The CLI's main() in process: polls and listings here would spawn a ~1 s CLI each (cli-rules
// proves the spawned binary).
const admin = (args: string[], stdin?: string): Promise<CliResult> => adminIn(fx.gw, args, stdin);

const json = <T>(r: { code: number; stdout: string; stderr: string }): T => {
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as T;
};

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => { hooks.push(JSON.parse(body) as Hook); res.writeHead(204).end(); });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const port = (receiver.address() as { port: number }).port;
  // Chromium starts while the peers do (it is only needed by the last two tests).
  const chromium = launchChromium().then((b) => { browser = b; });
  const config = (businessHours: string): string => `webhooks:\n  - url: http://127.0.0.1:${port}/hook\n    events: [session.flagged]\n`
    + `risk:\n  businessHours: "${businessHours}"\n  exportRows: 500\n`;
  // Serve reads <data>/portcullis.yaml at start: business hours that exclude now for the risky session.
  fx = await startPgFixture({}, { prepare: (dataDir) => writeFileSync(join(dataDir, 'portcullis.yaml'), config(hoursAway())) });
  fx.grant('30m');
  expect((await admin(['user', 'add', 'ivy', '--role', 'investigator', '--password-stdin'], 'ivy-Password-1\n')).code).toBe(0);
  const r = fx.psql(['-c', 'select g, md5(g::text) from generate_series(1, 1000) g', '-c', 'select pg_sleep(0.3)']);
  expect(r.status, r.stderr).toBe(0);
  const list = async (): Promise<SessionRow[]> => json<SessionRow[]>(await admin(['session', 'list', '--json']));
  await waitFor('the risky session and its flags', async () => ((await list())[0]?.flags.length ?? 0) >= 3, 10_000);
  risky = (await list())[0]!.id;
  // Then business hours that include every hour: the next session of the same user is not off-hours.
  await fx.gw.halt();
  writeFileSync(join(fx.gw.dataDir, 'portcullis.yaml'), config('off'));
  await fx.gw.restart();
  const r2 = fx.psql(['-c', 'select 1']);
  expect(r2.status, r2.stderr).toBe(0);
  await waitFor('the calm session listed', async () => (await list()).length === 2, 10_000);
  calm = (await list()).find((s) => s.id !== risky)!.id;
  await chromium;
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await fx?.stop();
  await new Promise((r) => receiver?.close(r));
});

describe('session risk with real psql, a webhook receiver and Chromium', () => {
  it('flags the session for mass export and off-hours (and first use) and scores it', async () => {
    const s = json<SessionRow>(await admin(['session', 'show', risky, '--json']));
    const kinds = s.flags.map((f) => f.kind).sort();
    expect(kinds).toEqual(['first-use', 'mass-export', 'off-hours']);
    expect(s.flags.find((f) => f.kind === 'mass-export')?.detail).toMatch(/^\d+ rows returned \(threshold 500\)$/);
    expect(s.flags.find((f) => f.kind === 'off-hours')?.detail).toContain('outside business hours');
    expect(s.risk_score).toBe(40 + 10 + 5);
    const calmRow = json<SessionRow>(await admin(['session', 'show', calm, '--json']));
    expect(calmRow).toMatchObject({ risk_score: 0, flags: [] });
  });

  it('audits each flag once as session.flagged and sends the webhook', async () => {
    const audit = json<Array<{ code: string; data: Record<string, unknown> }>>(await admin(['audit', 'list', '--limit', '10000', '--json']));
    const flagged = audit.filter((a) => a.code === 'session.flagged');
    expect(flagged.map((a) => a.data.flag).sort()).toEqual(['first-use', 'mass-export', 'off-hours']);
    expect(flagged.every((a) => a.data.session === risky)).toBe(true);
    expect(Math.max(...flagged.map((a) => Number(a.data.score)))).toBe(55);
    await waitFor('three webhooks', () => hooks.length >= 3, 10_000);
    expect(hooks.every((h) => h.event === 'session.flagged' && h.data.session === risky)).toBe(true);
    expect(hooks.find((h) => h.data.flag === 'mass-export')?.text).toContain(`session ${risky} of \`dba\` on \`orders-db\` flagged mass-export`);
  });

  it('lists flagged sessions and filters by score from the CLI', async () => {
    expect(json<SessionRow[]>(await admin(['session', 'list', '--flagged', '--json'])).map((s) => s.id)).toEqual([risky]);
    expect(json<SessionRow[]>(await admin(['session', 'list', '--min-score', '50', '--json'])).map((s) => s.id)).toEqual([risky]);
    expect(json<SessionRow[]>(await admin(['session', 'list', '--min-score', '56', '--json']))).toEqual([]);
    const table = (await admin(['session', 'list', '--order', 'score'])).stdout.split('\n');
    expect(table[1]).toContain(risky);
    expect(table[1]).toMatch(/55\s+first-use\+5,mass-export\+40,off-hours\+10|55\s+\S*mass-export\+40/);
  });

  it('sorts the risky session above the later unflagged one on the sessions page, with its flags as badges', async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'ivy', 'ivy-Password-1');
    await page.waitForSelector(`tr[data-session="${calm}"]`);
    const order = (): Promise<string[]> => page.$$eval('tr[data-session]', (trs) => trs.map((tr) => tr.getAttribute('data-session') ?? ''));
    // Newest first by default: the calm session started later.
    expect((await order()).slice(0, 2)).toEqual([calm, risky]);
    await page.selectOption('select[name=order]', 'score');
    await page.waitForFunction((id) => document.querySelector('tr[data-session]')?.getAttribute('data-session') === id, risky);
    expect((await order()).slice(0, 2)).toEqual([risky, calm]);
    const badges = await page.$$eval(`tr[data-session="${risky}"] td.risk .badge`, (bs) => bs.map((b) => b.textContent));
    expect(badges.sort()).toEqual(['first-use', 'mass-export', 'off-hours']);
    expect(await page.textContent(`tr[data-session="${risky}"] td.risk`)).toMatch(/^55/);
    await page.screenshot({ path: screenshotPath('sessions-by-risk'), fullPage: true });
    await page.check('#flagged');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-session]').length === 1);
    expect(await order()).toEqual([risky]);
  });

  it('shows the flags among the statements of the flagged session', async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'ivy', 'ivy-Password-1');
    await page.goto(`${fx.gw.url}/#/session/${risky}`);
    await page.waitForSelector('#statements tr.flag[data-flag=mass-export]');
    const rows = await page.$$eval('#statements tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-flag') ?? (tr.querySelectorAll('td')[2]?.textContent ?? '')));
    // Off-hours at the start, before any statement; the export flag after the statement that crossed it.
    expect(rows[0]).toMatch(/off-hours|first-use/);
    const exportAt = rows.indexOf('mass-export');
    const bigAt = rows.findIndex((r) => r.includes('generate_series'));
    expect(exportAt).toBeGreaterThan(bigAt);
    await page.screenshot({ path: screenshotPath('statements-with-flags') });
  });
});
