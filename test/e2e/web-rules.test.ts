// The console's Rules page in real headless Chromium against the real API server and services in
// this process: an admin adds a rule through the form (a bad regex and a wrong-kind target are
// refused with the gateway's words; an unknown role is accepted with a note), sees it in the list,
// and removes it with the two-step confirm; each change reaches the node's rule book at once; a
// message with markup stays text; a non-admin has no Rules link and gets 403 from the API.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, newContext, screenshotPath, signIn } from '../harness/browser.js';
import { type ApiFixture, startApi } from '../support/api-fixture.js';
import { type TestApp, addSshTarget, testApp } from '../support/test-app.js';

let t: TestApp;
let api: ApiFixture;
let browser: Browser;

beforeAll(async () => {
  // Chromium starts while the app does (neither needs the other until the first page).
  const chromium = launchChromium().then((b) => { browser = b; });
  t = await testApp();
  api = await startApi(t);
  await t.app.users.add('admin', { name: 'boss', roles: ['admin'], password: 'boss-Password-1' });
  await t.app.users.add('admin', { name: 'ivy', roles: ['investigator'], password: 'ivy-Password-1' });
  await addSshTarget(t.app);
  await chromium;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await t?.close();
});

const names = (): string[] => t.app.rules.book.current.rules.map((r) => r.name);

async function fillRule(page: Page, f: { name: string; kind?: string; how?: string; cls?: string; fn?: string; match?: string; action?: string; targets?: string; roles?: string; message?: string }): Promise<void> {
  await page.fill('input[name=rule-name]', f.name);
  await page.selectOption('select[name=rule-kind]', f.kind ?? 'sql');
  const how = f.how ?? (f.cls ? 'class' : undefined);
  if (how) await page.selectOption('select[name=rule-how]', how);
  if (f.cls) await page.selectOption('select[name=rule-class]', f.cls);
  if (f.fn !== undefined) await page.fill('input[name=rule-function]', f.fn);
  if (f.match !== undefined) await page.fill('input[name=rule-match]', f.match);
  await page.selectOption('select[name=rule-action]', f.action ?? 'deny');
  await page.fill('input[name=rule-targets]', f.targets ?? '');
  await page.fill('input[name=rule-roles]', f.roles ?? '');
  await page.fill('input[name=rule-message]', f.message ?? '');
  await page.click('button[data-rule-add]');
}

describe('the Rules page', () => {
  it('adds rules through the form with the gateway\'s checks, lists them, and removes one after a confirm', async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, api.url, 'boss', 'boss-Password-1');
    await page.click('#nav a[href="#/rules"]');
    await page.waitForSelector('#rules');
    expect(await page.locator('#rules tbody').innerText()).toContain('No rules');

    // Refusals come back in the gateway's words and nothing is stored.
    await fillRule(page, { name: 'bad-re', how: 'match', match: 'drop (table' });
    await page.waitForFunction(() => document.querySelector('#rule-error')?.textContent?.includes('not a valid regular expression'));
    await fillRule(page, { name: 'bad-re', how: 'match', match: '(a+)+$' });
    await page.waitForFunction(() => document.querySelector('#rule-error')?.textContent?.includes('exponential time'));
    await fillRule(page, { name: 'wrong-kind', cls: 'drop', targets: 'web01' });
    await page.waitForFunction(() => document.querySelector('#rule-error')?.textContent?.includes('an SQL rule applies to postgres and mysql targets'));
    await fillRule(page, { name: 'no-fn', cls: 'function:', fn: 'pg_catalog.pg_sleep' });
    await page.waitForFunction(() => document.querySelector('#rule-error')?.textContent?.includes('function:NAME takes a function name without schema'));
    expect(names()).toEqual([]);

    // A command rule has no class: the form switches to a pattern.
    await page.selectOption('select[name=rule-kind]', 'command');
    expect(await page.locator('select[name=rule-how]').isDisabled()).toBe(true);
    expect(await page.locator('select[name=rule-class]').isHidden()).toBe(true);
    await fillRule(page, { name: 'no-rm-rf', kind: 'command', match: 'glob:rm -rf *', targets: 'web01', message: 'use the <b>cleanup</b> job' });
    await page.waitForSelector('tr[data-rule="no-rm-rf"]');
    expect(await page.locator('#rule-error').innerText()).toBe('');
    await fillRule(page, { name: 'no-kill', cls: 'function:', fn: 'pg_terminate_backend', roles: 'contractor' });
    await page.waitForSelector('tr[data-rule="no-kill"]');
    expect(await page.locator('#rule-notes').innerText()).toContain('no user has role "contractor" yet');
    await fillRule(page, { name: 'watch-ddl', cls: 'ddl', action: 'flag' });
    await page.waitForSelector('tr[data-rule="watch-ddl"]');
    // Enforced by this node as soon as the answer came.
    expect(names()).toEqual(['no-rm-rf', 'no-kill', 'watch-ddl']);

    const rows = await page.locator('#rules tbody tr').evaluateAll((trs: Element[]): string[][] => trs.map((tr) => Array.from(tr.querySelectorAll('td')).slice(0, 7).map((td) => td.textContent ?? '')));
    expect(rows).toEqual([
      ['no-rm-rf', 'command', 'match glob:rm -rf *', 'deny', 'targets web01', '', 'use the <b>cleanup</b> job'],
      ['no-kill', 'sql', 'function:pg_terminate_backend', 'deny', 'every target; roles contractor', 'deny', '(blocked by rule no-kill)'],
      ['watch-ddl', 'sql', 'ddl', 'flag', 'every target', 'allow', ''],
    ]);
    // The message is text, never markup.
    expect(await page.locator('#rules b').count()).toBe(0);
    await page.screenshot({ path: screenshotPath('admin-rules'), fullPage: true });

    // Remove: the first click only asks; Cancel keeps the rule; the confirm removes it.
    await page.click('button[data-remove-rule="no-kill"]');
    await page.click('button[data-cancel-remove="no-kill"]');
    expect(names()).toContain('no-kill');
    await page.click('button[data-remove-rule="no-kill"]');
    await page.click('button[data-confirm-remove="no-kill"]');
    await page.waitForSelector('tr[data-rule="no-kill"]', { state: 'detached' });
    expect(names()).toEqual(['no-rm-rf', 'watch-ddl']);
    await page.screenshot({ path: screenshotPath('admin-rules-removed'), fullPage: true });
  });

  it('shows a non-admin no Rules link, and the API refuses them (403)', async () => {
    const before = names();
    const page = await (await newContext(browser)).newPage();
    await signIn(page, api.url, 'ivy', 'ivy-Password-1');
    expect(await page.locator('#nav a[href="#/rules"]').count()).toBe(0);
    expect(await page.evaluate(async () => (await fetch('/api/v1/rules')).status)).toBe(403);
    await page.goto(`${api.url}/#/rules`);
    await page.waitForSelector('.error[role=alert]');
    expect(await page.locator('.error[role=alert]').first().innerText()).toMatch(/admin/i);
    expect(names()).toEqual(before);
  });
});
