// The login handoff service on an in-process gateway with a fake clock: the secret is the only way
// to take a login, approval happens once, a token is issued once, an SSH login only for its user,
// and nothing survives its ten minutes.
import { afterEach, describe, expect, it } from 'vitest';
import { HANDOFF_TTL_MS } from '../../gateway/identity/handoffs.js';
import { testApp, type TestApp } from '../support/test-app.js';

const codeOf = async (p: Promise<unknown>): Promise<string> => p.then(() => 'no error', (e: { code?: string }) => e.code ?? 'no code');

describe('login handoffs', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('takes a CLI login from begin through approval to one API token for the approver, and audits each step', async () => {
    t = await testApp();
    const ops = await t.user('ops', ['ops']);
    const h = await t.app.handoffs.begin('cli', null, '10.0.0.7');
    expect(h.code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    expect(h.secret.length).toBeGreaterThanOrEqual(43);
    expect(await t.app.handoffs.poll(h.id, h.secret, '10.0.0.7')).toEqual({ state: 'pending' });
    const seen = await t.app.handoffs.view(h.id);
    expect(seen).toMatchObject({ kind: 'cli', state: 'pending', code: h.code, addr: '10.0.0.7' });
    await t.app.handoffs.approve(h.id, ops, '10.0.0.8');
    const got = await t.app.handoffs.poll(h.id, h.secret, '10.0.0.7');
    expect(got.state).toBe('approved');
    if (got.state !== 'approved') return;
    expect((await t.app.authn.byToken(got.token))?.name).toBe('ops');
    // Once: the next poll, and any other, reads consumed and gets no token.
    expect(await t.app.handoffs.poll(h.id, h.secret, '10.0.0.7')).toEqual({ state: 'consumed' });
    const audit = await t.app.audit.page(0, 1000);
    expect(audit.map((e) => e.code)).toEqual(expect.arrayContaining(['login.handoff_begun', 'login.handoff_approved', 'login.handoff_consumed']));
    const text = JSON.stringify(audit);
    expect(text).not.toContain(h.secret);
    expect(text).not.toContain(got.token);
  });

  it('counts only browser sign-ins as console sessions that may approve (an API token sent as the cookie does not)', async () => {
    t = await testApp();
    const ops = await t.user('ops', ['ops']);
    const issue = async (label: string): Promise<string> => (await t.app.authn.issueToken('ops', ops, label, 60_000)).token;
    expect(await t.app.authn.isBrowserSession(await issue('web'))).toBe(true);
    expect(await t.app.authn.isBrowserSession(await issue('sso'))).toBe(true);
    expect(await t.app.authn.isBrowserSession(await issue('login'))).toBe(false);
    expect(await t.app.authn.isBrowserSession(await issue('sso-cli'))).toBe(false);
    expect(await t.app.authn.isBrowserSession('pc_nope')).toBe(false);
  });

  it('gives a single sign-on user a CLI token no longer-lived than their sign-in through the provider, and none without one', async () => {
    t = await testApp();
    const carol = await t.user('carol', ['ops']);
    await t.app.store.users.update({ ...carol, source: 'oidc', externalId: 'https://idp.test#carol' });
    const sso = await t.app.authn.issueToken('sso', carol, 'sso', 60 * 60_000);
    const now = t.clock.now();
    await t.app.store.ssoSessions.insert({ tokenId: sso.id, userId: carol.id, issuer: 'https://idp.test', subject: 'carol', refreshSealed: null, groups: [], refreshedAt: now, expiresAt: now + 60 * 60_000 });
    const fresh = (await t.app.store.users.byId(carol.id))!;
    const take = async (): Promise<Awaited<ReturnType<typeof t.app.handoffs.poll>>> => {
      const h = await t.app.handoffs.begin('cli', null, '10.0.0.7');
      await t.app.handoffs.approve(h.id, fresh, '10.0.0.8');
      return t.app.handoffs.poll(h.id, h.secret, '10.0.0.7');
    };
    const got = await take();
    expect(got).toMatchObject({ state: 'approved', expiresAt: now + 60 * 60_000 });
    t.clock.advance(61 * 60_000);
    expect((await take()).state).toBe('denied');
  });

  it('gives a token to exactly one of many concurrent pollers', async () => {
    t = await testApp();
    const ops = await t.user('ops', ['ops']);
    const h = await t.app.handoffs.begin('cli', null, '10.0.0.7');
    await t.app.handoffs.approve(h.id, ops, '10.0.0.8');
    const results = await Promise.all(Array.from({ length: 8 }, () => t.app.handoffs.poll(h.id, h.secret, '10.0.0.7')));
    expect(results.filter((r) => r.state === 'approved')).toHaveLength(1);
    expect(results.filter((r) => r.state === 'consumed')).toHaveLength(7);
    const tokens = (await t.app.audit.page(0, 1000)).filter((e) => e.code === 'token.created' && JSON.stringify(e.data).includes('sso-cli'));
    expect(tokens).toHaveLength(1);
  });

  it('tells a wrong secret, a wrong id or an SSH handoff polled as a CLI one nothing but not-found', async () => {
    t = await testApp();
    const ops = await t.user('ops', ['ops']);
    const h = await t.app.handoffs.begin('cli', null, '10.0.0.7');
    await t.app.handoffs.approve(h.id, ops, '10.0.0.8');
    expect(await codeOf(t.app.handoffs.poll(h.id, 'pcl_' + 'A'.repeat(43), '10.9.9.9'))).toBe('not-found');
    expect(await codeOf(t.app.handoffs.poll('lho_nope', h.secret, '10.9.9.9'))).toBe('not-found');
    expect(await codeOf(t.app.handoffs.poll('../../etc', h.secret, '10.9.9.9'))).toBe('not-found');
    const s = await t.app.handoffs.begin('ssh', { user: 'ops', target: 'web01' }, '10.0.0.7');
    await t.app.handoffs.approve(s.id, ops, '10.0.0.8');
    expect(await codeOf(t.app.handoffs.poll(s.id, s.secret, '10.0.0.7'))).toBe('not-found');
    // The approved CLI login is still there for its real owner.
    expect((await t.app.handoffs.poll(h.id, h.secret, '10.0.0.7')).state).toBe('approved');
  });

  it('decides once: a denied login cannot be approved after, an approved one not denied', async () => {
    t = await testApp();
    const ops = await t.user('ops', ['ops']);
    const h = await t.app.handoffs.begin('cli', null, '10.0.0.7');
    await t.app.handoffs.deny(h.id, ops, '10.0.0.8');
    expect(await codeOf(t.app.handoffs.approve(h.id, ops, '10.0.0.8'))).toBe('not-pending');
    expect(await t.app.handoffs.poll(h.id, h.secret, '10.0.0.7')).toEqual({ state: 'denied' });
    const h2 = await t.app.handoffs.begin('cli', null, '10.0.0.7');
    await t.app.handoffs.approve(h2.id, ops, '10.0.0.8');
    expect(await codeOf(t.app.handoffs.deny(h2.id, ops, '10.0.0.8'))).toBe('not-pending');
  });

  it('expires after ten minutes: no approval, no token, and the poll says expired', async () => {
    t = await testApp();
    const ops = await t.user('ops', ['ops']);
    const h = await t.app.handoffs.begin('cli', null, '10.0.0.7');
    const late = await t.app.handoffs.begin('cli', null, '10.0.0.7');
    await t.app.handoffs.approve(late.id, ops, '10.0.0.8');
    t.clock.advance(HANDOFF_TTL_MS);
    expect(await codeOf(t.app.handoffs.approve(h.id, ops, '10.0.0.8'))).toBe('not-pending');
    expect(await t.app.handoffs.poll(h.id, h.secret, '10.0.0.7')).toEqual({ state: 'expired' });
    // Approved in time but never taken in time: expired too.
    expect(await t.app.handoffs.poll(late.id, late.secret, '10.0.0.7')).toEqual({ state: 'expired' });
    // Swept an hour later by the next begin.
    t.clock.advance(3_600_000);
    await t.app.handoffs.begin('cli', null, '10.0.0.9');
    expect(await t.app.store.handoffs.byId(h.id)).toBeUndefined();
  });

  it('lets only the SSH login\'s own user approve it, and the SSH side takes it once', async () => {
    t = await testApp();
    const ops = await t.user('ops', ['ops']);
    const mallory = await t.user('mallory', ['ops', 'approver']);
    const h = await t.app.handoffs.begin('ssh', { user: 'ops', target: 'web01' }, '10.0.0.7');
    expect(await t.app.handoffs.claimSsh(h.id, h.secret, 'ops', '10.0.0.7')).toEqual({ state: 'pending' });
    expect(await codeOf(t.app.handoffs.approve(h.id, mallory, '10.0.0.66'))).toBe('forbidden');
    expect((await t.app.handoffs.view(h.id)).state).toBe('pending');
    expect((await t.app.audit.page(0, 1000)).some((e) => e.code === 'login.handoff_refused' && JSON.stringify(e.data).includes('wrong-user'))).toBe(true);
    await t.app.handoffs.approve(h.id, ops, '10.0.0.8');
    // The SSH side asks for the user its login names: another name gets nothing.
    expect((await t.app.handoffs.claimSsh(h.id, h.secret, 'mallory', '10.0.0.7')).state).toBe('refused');
    const ok = await t.app.handoffs.claimSsh(h.id, h.secret, 'ops', '10.0.0.7');
    expect(ok.state === 'approved' && ok.user.name).toBe('ops');
    expect((await t.app.handoffs.claimSsh(h.id, h.secret, 'ops', '10.0.0.7')).state).toBe('refused');
  });

  it('refuses a login approved by a user disabled before it was taken', async () => {
    t = await testApp();
    const ops = await t.user('ops', ['ops']);
    const h = await t.app.handoffs.begin('cli', null, '10.0.0.7');
    await t.app.handoffs.approve(h.id, ops, '10.0.0.8');
    await t.app.users.setDisabled('admin', 'ops', true);
    expect((await t.app.handoffs.poll(h.id, h.secret, '10.0.0.7')).state).toBe('denied');
  });

  it('limits how many logins one address begins', async () => {
    t = await testApp();
    const codes: string[] = [];
    for (let i = 0; i < 12; i++) codes.push(await codeOf(t.app.handoffs.begin('cli', null, '10.0.0.7')));
    expect(codes.slice(0, 10).every((c) => c === 'no error')).toBe(true);
    expect(codes.slice(10)).toEqual(['locked', 'locked']);
    expect(await codeOf(t.app.handoffs.begin('cli', null, '10.0.0.8'))).toBe('no error');
    t.clock.advance(5_000);
    expect(await codeOf(t.app.handoffs.begin('cli', null, '10.0.0.7'))).toBe('no error');
  });
});
