// The admin page's discovery findings in real headless Chromium, against the real API server and
// services in this process with a fake AdminSession as the target: unmanaged accounts listed first
// and highlighted, managed ones with why, "Discover now" finds a new account, and a non-admin gets
// neither the findings nor the run (403).
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminLogin, type PrivilegedAccount } from '../../gateway/provision/provisioner.js';
import { launchChromium, newContext, screenshotPath, signIn } from '../harness/browser.js';
import { type ApiFixture, startApi } from '../support/api-fixture.js';
import { type TestApp, addSshTarget, testApp } from '../support/test-app.js';

let t: TestApp;
let api: ApiFixture;
let browser: Browser;
let accounts: PrivilegedAccount[] = [];

const login: AdminLogin = (_t, cred) => {
  cred.wipe();
  return Promise.resolve({
    discover: () => Promise.resolve(accounts),
    createAccount: () => Promise.reject(new Error('unused')), dropAccount: () => Promise.reject(new Error('unused')),
    checkProvisioner: () => Promise.resolve([]), setOwnSecret: () => Promise.reject(new Error('unused')),
    close: () => Promise.resolve(),
  });
};

beforeAll(async () => {
  t = await testApp({ adminLogins: { ssh: login } });
  api = await startApi(t);
  await t.app.users.add('admin', { name: 'boss', roles: ['admin'], password: 'boss-Password-1' });
  await t.app.users.add('admin', { name: 'ivy', roles: ['investigator'], password: 'ivy-Password-1' });
  await addSshTarget(t.app);
  await addSshTarget(t.app, 'web02');
  accounts = [{ account: 'root', privileges: ['uid-0', 'password'] }, { account: 'mallory', privileges: ['sudo', 'authorized-keys'] }];
  await t.app.discovery.discover('admin', 'web01');
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await t?.close();
});

describe('discovery on the admin page', () => {
  it('lists findings with unmanaged accounts first and highlighted, and "Discover now" finds a new one', async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, api.url, 'boss', 'boss-Password-1');
    await page.click('#nav a[href="#/admin"]');
    await page.waitForSelector('tr[data-finding="web01/mallory"]');
    const rows = await page.locator('#discovery tbody tr').evaluateAll((trs): Array<[string | null, string]> => trs.map((tr) => [tr.getAttribute('data-finding'), tr.className]));
    expect(rows).toEqual([['web01/mallory', 'unmanaged'], ['web01/root', 'managed']]);
    expect(await page.locator('tr[data-finding="web01/mallory"]').innerText()).toMatch(/authorized-keys, sudo\s+NO/);
    expect(await page.locator('tr[data-finding="web01/root"]').innerText()).toContain('yes: vaulted account');
    expect(await page.locator('#discovery-summary').innerText()).toContain('1 privileged account(s) not managed');
    // Highlighted: the unmanaged row's cells are not on the plain white background.
    const bg = await page.locator('tr[data-finding="web01/mallory"] td').first().evaluate((td) => getComputedStyle(td).backgroundColor);
    expect(bg).not.toBe('rgb(255, 255, 255)');

    accounts = [{ account: 'root', privileges: ['uid-0'] }, { account: 'intruder', privileges: ['uid-0'] }];
    await page.click('button[data-discover="web02"]');
    await page.waitForSelector('tr[data-finding="web02/intruder"].unmanaged');
    expect(await page.locator('#discovery-summary').innerText()).toContain('2 privileged account(s) not managed');
    await page.screenshot({ path: screenshotPath('admin-discovery'), fullPage: true });
    // The same account name, set as text: an account named like markup never becomes markup.
    accounts = [{ account: '<img src=x onerror=alert(1)>', privileges: ['uid-0'] }];
    await page.click('button[data-discover="web01"]');
    await page.waitForSelector('#discovery tbody tr.gone');
    expect(await page.locator('#discovery img').count()).toBe(0);
    expect(await page.locator('#discovery').innerText()).toContain('<img src=x onerror=alert(1)>');
  });

  it('gives a non-admin neither the findings nor a run (403)', async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, api.url, 'ivy', 'ivy-Password-1');
    expect(await page.locator('#nav a[href="#/admin"]').count()).toBe(0);
    const statuses = await page.evaluate(async () => [
      (await fetch('/api/v1/discovery')).status,
      (await fetch('/api/v1/targets/web01/discover', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status,
    ]);
    expect(statuses[0]).toBe(403);
    // Without the CSRF token the POST is refused before the role check; either way it is a 403.
    expect(statuses[1]).toBe(403);
  });
});
