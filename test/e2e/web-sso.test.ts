// Single sign-on end to end: real headless Chromium signs in to the console through a real OpenID
// Provider (oidc-provider 9, its own login page) over HTTPS; roles come from the groups claim and
// follow the provider on refresh; a user removed at the provider loses the sign-in. With
// local_passwords off a local non-admin's password is refused and a local admin still signs in.
// Attacks: return_to to another site, a replayed callback, a provider sending no groups claim.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, newContext, screenshotPath } from '../harness/browser.js';
import { tempDir, waitFor } from '../harness/common.js';
import { type GatewayPeer, json, startGateway } from '../harness/gateway.js';
import { startOidcProvider, type TestIdp } from '../harness/oidc-provider.js';

let idp: TestIdp;
let gw: GatewayPeer;
let browser: Browser;

beforeAll(async () => {
  idp = await startOidcProvider();
  const config = join(tempDir('sso-config'), 'portcullis.yaml');
  writeFileSync(config, idp.yaml({ roles: { 'ops-team': 'ops', security: ['investigator', 'approver'] }, refresh_every: '1s', local_passwords: false, label: 'Test IdP' }));
  gw = await startGateway({ config });
  idp.client(`${gw.url}/api/v1/sso/callback`);
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  await idp?.stop();
});

const rolesOf = (name: string): string[] | undefined => json<Array<{ name: string; roles: string[] }>>(gw.admin(['user', 'list', '--json'])).find((u) => u.name === name)?.roles;

/** Through the console's button and the provider's own login page; returns the callback URL the browser was sent to. */
async function ssoSignIn(page: Page, sub: string, shot?: string): Promise<string> {
  let callback = '';
  page.on('request', (r) => { if (r.url().includes('/api/v1/sso/callback')) callback = r.url(); });
  await page.goto(gw.url + '/');
  await page.click('#sso-sign-in');
  await page.waitForSelector('input[name=login]');
  await page.fill('input[name=login]', sub);
  await page.fill('input[name=password]', 'whatever');
  if (shot) await page.screenshot({ path: screenshotPath(`${shot}-idp`) });
  await page.click('button[type=submit]');
  await page.waitForURL((u) => u.href.startsWith(gw.url));
  return callback;
}

describe('single sign-on', () => {
  it('signs in through the provider with mapped roles; refresh follows its groups and ends a removed user', async () => {
    idp.accounts.set('sub-alice', { username: 'alice', groups: ['ops-team', 'unmapped'] });
    const ctx = await newContext(browser);
    const page = await ctx.newPage();
    await ssoSignIn(page, 'sub-alice', 'sso-sign-in');
    await page.waitForSelector('#who');
    expect(await page.textContent('#who')).toContain('alice');
    await page.screenshot({ path: screenshotPath('sso-sign-in') });
    expect(rolesOf('alice')).toEqual(['ops']);
    const audit = gw.admin(['audit', 'list', '--json']);
    expect(audit.stdout).toContain('sso.signed_in');

    // Groups changed at the provider: the refresh (every 1s here) changes the roles.
    idp.accounts.set('sub-alice', { username: 'alice', groups: ['ops-team', 'security'] });
    await waitFor('roles from the refreshed groups', () => rolesOf('alice')?.join(',') === 'approver,investigator,ops', 15_000)
      .catch((e: unknown) => { throw new Error(`${String(e)}\n${gw.admin(['audit', 'list', '--json']).stdout.split('\n').filter((l) => /detail|reason/.test(l)).join('\n')}`); });

    // Removed at the provider: the refresh is refused, the console session ends, the roles go.
    idp.accounts.delete('sub-alice');
    await waitFor('roles dropped', () => rolesOf('alice')?.length === 0, 15_000);
    const me = await page.request.get(gw.url + '/api/v1/web/me');
    expect(me.status()).toBe(401);
    await ctx.close();
  }, 60_000);

  it('refuses a replayed callback and an answer without the groups claim', async () => {
    idp.accounts.set('sub-carol', { username: 'carol', groups: ['ops-team'] });
    const ctx = await newContext(browser);
    const page = await ctx.newPage();
    const callback = await ssoSignIn(page, 'sub-carol');
    await page.waitForSelector('#who');
    expect(callback).toContain('code=');
    const replay = await page.goto(callback);
    expect(replay?.status()).toBeGreaterThanOrEqual(400);
    expect(await page.textContent('#sso-error')).toMatch(/expired|already used|another browser/);
    await ctx.close();

    idp.accounts.set('sub-dave', { username: 'dave' });
    const ctx2 = await newContext(browser);
    const page2 = await ctx2.newPage();
    await ssoSignIn(page2, 'sub-dave');
    await page2.waitForSelector('#sso-error');
    expect(await page2.textContent('#sso-error')).toContain('"groups" claim');
    expect(rolesOf('dave')).toBeUndefined();
    await page2.screenshot({ path: screenshotPath('sso-missing-groups') });
    await ctx2.close();
  }, 60_000);

  it('is no open redirect, and says what it offers', async () => {
    const ctx = await newContext(browser);
    for (const bad of ['//evil.example/', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)']) {
      const r = await ctx.request.get(`${gw.url}/api/v1/sso/start?return_to=${encodeURIComponent(bad)}`, { maxRedirects: 0 });
      expect(r.status(), bad).toBe(400);
      expect(r.headers().location).toBeUndefined();
    }
    const ok = await ctx.request.get(`${gw.url}/api/v1/sso/start?return_to=${encodeURIComponent('/#/requests')}`, { maxRedirects: 0 });
    expect(ok.status()).toBe(303);
    expect(ok.headers().location!.startsWith(idp.issuer + '/')).toBe(true);
    expect(ok.headers()['set-cookie']).toMatch(/pc_sso=.*HttpOnly; Secure; SameSite=Lax; Path=\/api\/v1\/sso/);
    const info = await (await ctx.request.get(`${gw.url}/api/v1/sso`)).json() as unknown;
    expect(info).toEqual({ enabled: true, label: 'Test IdP', local_passwords: false });
    await ctx.close();
  });

  it('with local passwords off: a local admin signs in with a password, anyone else is told to use single sign-on', () => {
    expect(gw.admin(['user', 'add', 'bob', '--role', 'ops', '--password-stdin'], 'bob-Password-1\n').code).toBe(0);
    expect(gw.admin(['user', 'add', 'root', '--role', 'admin', '--password-stdin'], 'root-Password-1\n').code).toBe(0);
    const bob = gw.login('bob', 'bob-Password-1');
    expect(bob.code).not.toBe(0);
    expect(bob.stderr).toContain('single sign-on');
    expect(gw.login('root', 'root-Password-1').code).toBe(0);
  });

  it('with the provider down: the sign-in says so clearly, and a local admin still signs in with a password', async () => {
    const ctx = await newContext(browser);
    const start = await ctx.request.get(`${gw.url}/api/v1/sso/start?return_to=%2F`, { maxRedirects: 0 });
    expect(start.status()).toBe(303);
    const state = new URL(start.headers().location!).searchParams.get('state')!;
    await idp.stop();
    // The provider's redirect back arrives, but its token endpoint no longer answers.
    const cb = await ctx.request.get(`${gw.url}/api/v1/sso/callback?code=abc&state=${encodeURIComponent(state)}&iss=${encodeURIComponent(idp.issuer)}`, { maxRedirects: 0 });
    expect(cb.status(), await cb.text()).toBe(503);
    expect(await cb.text()).toMatch(/identity provider did not answer/);
    expect(cb.headers()['set-cookie'] ?? '').not.toMatch(/pc_session=[^;]/);
    await ctx.close();
    expect(gw.login('root', 'root-Password-1').code).toBe(0);
  });
});
