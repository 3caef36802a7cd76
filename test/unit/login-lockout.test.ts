import { afterEach, describe, expect, it } from 'vitest';
import type { AccessEvents } from '../../gateway/access/events.js';
import { totpAt } from '../../gateway/access/totp.js';
import { isPortcullisError } from '../../gateway/util/errors.js';
import { testApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
afterEach(async () => { await t?.close(); });

const codeOf = (e: unknown): string => (isPortcullisError(e) ? e.code : String(e));

describe('login lockout in the authenticator', () => {
  it('locks an account guessed from 25 addresses at once: one audit entry, one event, and the lock wins over guesses still hashing', async () => {
    t = await testApp();
    await t.user('alice', ['ops']);
    const locks: Array<AccessEvents['auth.locked']> = [];
    t.app.events.on('auth.locked', (e) => locks.push(e));
    // The right password comes last: it is still waiting for a hashing slot when the 20th failure locks.
    const attempts = Array.from({ length: 25 }, (_, i) => t.app.authn.dbPasswordLogin('alice', 'db', i === 24 ? 'alice-password-1' : `guess-${i}`, `10.0.0.${i}`, 'mysql-caching-sha2'));
    const results = await Promise.allSettled(attempts);
    const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : codeOf(r.reason)));
    expect(codes.filter((c) => c === 'invalid-credentials')).toHaveLength(20);
    // Which guesses finish hashing first varies with the workers; the five after the 20th failure
    // are refused, and the right password, hashed last, is among them.
    expect(codes.filter((c) => c === 'locked')).toHaveLength(5);
    expect(codes[24]).toBe('locked');
    const audited = (await t.app.store.audit.page(0, 1000)).filter((e) => e.code === 'auth.locked');
    expect(audited).toHaveLength(1);
    expect(JSON.parse(audited[0]!.data)).toMatchObject({ user: 'alice', scope: 'account' });
    expect(locks).toEqual([expect.objectContaining({ scope: 'account', user: 'alice', addr: null, suppressed: 0 })]);
    // The owner, with the right password, from anywhere: the lock, in words.
    const owner = await t.app.authn.login({ user: 'alice', password: 'alice-password-1', addr: '192.0.2.1', method: 'ssh-password' }).catch((e: unknown) => e);
    expect(isPortcullisError(owner) && owner.message).toBe('too many failed logins for alice; try again in 10 min');
    t.clock.advance(10 * 60_000);
    await expect(t.app.authn.login({ user: 'alice', password: 'alice-password-1', addr: '192.0.2.1', method: 'ssh-password' })).resolves.toMatchObject({ name: 'alice' });
  }, 60_000);

  it('holds one-time code guesses after an SSH key to the same budgets: a stolen key does not get unlimited tries at the code', async () => {
    t = await testApp();
    await t.user('alice', ['ops']);
    const { secret } = await t.app.users.enrollTotp('admin', 'alice', 'Portcullis');
    const alice = (await t.app.store.users.byName('alice'))!;
    const right = totpAt(secret, t.clock.now());
    const wrong = String((Number(right) + 500_000) % 1_000_000).padStart(6, '0');
    // One connection can answer keyboard-interactive again and again once its key was accepted.
    const codes: string[] = [];
    for (let i = 0; i < 30; i++) codes.push(await t.app.authn.secondFactor(alice, wrong, '10.1.0.1', 'ssh-publickey').then(() => 'ok', codeOf));
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('invalid-credentials'));
    expect(codes.slice(5)).toEqual(Array(25).fill('locked'));
    // Five failures lock the pair: the right code from this address waits for the lock to end.
    await expect(t.app.authn.secondFactor(alice, right, '10.1.0.1', 'ssh-publickey')).rejects.toMatchObject({ code: 'locked' });
  }, 60_000);

  it('refuses past the address hashing rate without hashing or counting a failure', async () => {
    t = await testApp();
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => t.app.authn.dbPasswordLogin(`n${i}`, 'db', 'x', '198.51.100.9', 'mysql-caching-sha2')));
    const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : codeOf(r.reason)));
    expect(codes.filter((c) => c === 'invalid-credentials')).toHaveLength(20);
    expect(codes.filter((c) => c === 'locked')).toHaveLength(10);
    const failed = (await t.app.store.audit.page(0, 1000)).filter((e) => e.code === 'auth.failed');
    expect(failed).toHaveLength(20);
  }, 60_000);
});
