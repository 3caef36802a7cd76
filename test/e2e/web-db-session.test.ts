// A PostgreSQL session in the web console: its statements as a searchable table with parameters,
// row counts and errors; a statement over 64 KiB shows its start and end, and its whole text on request.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/common.js';
import { launchChromium, newContext, screenshotPath, signIn } from '../harness/browser.js';
import { type PgFixture, startPgFixture } from '../harness/pg-fixture.js';

let fx: PgFixture;
let browser: Browser;
const padded = `/* ${'x'.repeat(70 * 1024)} */ update kv set v = 3 where k = 'b'`;

beforeAll(async () => {
  fx = await startPgFixture();
  fx.grant('30m');
  fx.gw.admin(['user', 'add', 'ivy', '--role', 'investigator', '--password-stdin'], 'ivy-Password-1\n');
  fx.psql(['-v', 'ON_ERROR_STOP=0', '-c', 'create table kv(k text, v int)', '-c', "insert into kv values ('a', 1), ('b', 2)", '-c', 'select * from kv order by k', '-c', 'select 1/0', '-c', padded]);
  await waitFor('statements recorded', () => fx.statements().some((s) => s.sql_file !== undefined), 5000);
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await fx?.stop();
});

describe('a database session in the web console', () => {
  it('lists its statements with rows and errors, and filters them', async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'ivy', 'ivy-Password-1');
    await page.waitForSelector('tr[data-session] a');
    await page.click('tr[data-session] a');
    await page.waitForSelector('#statements tbody tr');
    const rows = await page.$$eval('#statements tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? '')));
    expect(rows.some((r) => r[2] === 'select * from kv order by k' && r[4] === '2')).toBe(true);
    expect(rows.some((r) => r[2] === 'select 1/0' && r[5] === '22012: division by zero')).toBe(true);
    await page.screenshot({ path: screenshotPath('db-statements') });
    await page.fill('#sql-search', 'insert');
    await page.waitForFunction(() => document.querySelectorAll('#statements tbody tr').length === 1);
  });

  it('shows a long statement\'s start and end, and fetches its whole text from its side file', async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'ivy', 'ivy-Password-1');
    await page.waitForSelector('tr[data-session] a');
    await page.click('tr[data-session] a');
    await page.waitForSelector('#statements button.whole-sql');
    const row = page.locator('#statements tbody tr', { has: page.locator('button.whole-sql') });
    const inline = await row.locator('pre.sql').innerText();
    expect(inline).toContain("update kv set v = 3 where k = 'b'");
    expect(inline.length).toBeLessThan(padded.length);
    await row.locator('button.whole-sql').click();
    await page.waitForFunction((n) => Array.from(document.querySelectorAll('#statements pre.sql')).some((p) => (p.textContent ?? '').length === n), padded.length);
    expect(await page.locator('#statements button.whole-sql').count()).toBe(0);
  });

  it('finds a statement by full-text search and opens the session at it', async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'ivy', 'ivy-Password-1');
    await page.fill('#search', 'order by');
    await page.waitForSelector('a[data-hit]');
    expect(await page.locator('#hits').innerText()).toContain('(sql)');
    await page.click('a[data-hit]');
    await page.waitForSelector('#statements tr.at');
    expect(await page.locator('#statements tr.at pre.sql').innerText()).toBe('select * from kv order by k');
    // The row's own offset link is the same kind of link.
    const href = await page.locator('#statements tr.at a').getAttribute('href');
    expect(href).toMatch(/^#\/session\/ses_[^?]+\?t=\d+\.\d$/);
    await page.screenshot({ path: screenshotPath('db-statement-hit') });
  });
});
