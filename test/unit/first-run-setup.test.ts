// The setup link's rules with a fake clock (access/setup.ts): valid one hour, replaced at each
// start, only its hash stored, a wrong code or a refused password leaves it usable, the code used
// cannot sign in again, and once a human admin exists (even one made with the CLI) it is over.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { base32Encode, totpAt } from '../../gateway/access/totp.js';
import { SETUP_TTL_MS } from '../../gateway/access/setup.js';
import { randomBytes } from 'node:crypto';
import { type TestApp, testApp } from '../support/test-app.js';

let t: TestApp;
beforeEach(async () => { t = await testApp(); });
afterEach(async () => { await t.close(); });

const secret = base32Encode(randomBytes(20));
const input = (name: string, code = totpAt(secret, t.clock.now())): Parameters<TestApp['app']['setup']['complete']>[1] =>
  ({ name, password: 'first-admin-password', totpSecret: secret, code, addr: '127.0.0.1' });

describe('setup link', () => {
  it('stores only a hash, expires after an hour, and a new start retires the old token', async () => {
    const first = (await t.app.setup.start())!;
    expect(await t.app.store.meta.get('setup.token')).not.toContain(first.token);
    expect(await t.app.setup.state(first.token)).toBe('ready');
    const second = (await t.app.setup.start())!;
    expect(await t.app.setup.state(first.token)).toBe('invalid');
    t.clock.advance(SETUP_TTL_MS);
    expect(await t.app.setup.state(second.token)).toBe('expired');
    await expect(t.app.setup.complete(second.token, input('root'))).rejects.toThrow(/expired/);
    expect(await t.app.store.users.byName('root')).toBeUndefined();
  });

  it('a wrong code, a short secret or a too-short password leave the link usable; the code used cannot sign in again', async () => {
    const { token } = (await t.app.setup.start())!;
    const good = totpAt(secret, t.clock.now());
    await expect(t.app.setup.complete(token, input('root', good === '000000' ? '111111' : '000000'))).rejects.toThrow(/does not match/);
    await expect(t.app.setup.complete(token, { ...input('root'), totpSecret: 'AAAA' })).rejects.toThrow(/too short/);
    await expect(t.app.setup.complete(token, { ...input('root'), password: 'short' })).rejects.toThrow(/password must be at least/);
    const u = await t.app.setup.complete(token, input('root'));
    expect(u).toMatchObject({ name: 'root', roles: ['admin'], kind: 'human' });
    await expect(t.app.authn.login({ user: 'root', password: 'first-admin-password', totp: good, addr: '127.0.0.1', method: 'web-password' })).rejects.toThrow();
    t.clock.advance(30_000);
    const next = await t.app.authn.login({ user: 'root', password: 'first-admin-password', totp: totpAt(secret, t.clock.now()), addr: '127.0.0.1', method: 'web-password' });
    expect(next.name).toBe('root');
    expect(await t.app.setup.start()).toBeNull();
    expect(await t.app.setup.state(token)).toBe('already-set-up');
  });

  it('a human admin made with the CLI ends setup; a service admin (the CLI token) does not', async () => {
    expect(await t.app.setup.start()).not.toBeNull();
    await t.user('alice', ['approver']);
    expect(await t.app.setup.start()).not.toBeNull();
    const { token } = (await t.app.setup.start())!;
    await t.user('boss', ['admin']);
    expect(await t.app.setup.start()).toBeNull();
    await expect(t.app.setup.complete(token, input('root'))).rejects.toThrow(/already set up/);
  });
});
