// Logins reveal nothing about a name before authentication (the services, on the real SQLite store
// with a fake clock): per-name decoys, one outcome for every failure, one counted failure per
// attempt whatever it was, a one-time code taken once by racing logins, the same hashing work for
// unknown names, and migration 9 keeping mysql_native_password verifiers only where they were used.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { isDecoy, LoginDecoys } from '../../gateway/access/login-decoys.js';
import { makeScramVerifier, parseScramVerifier } from '../../gateway/access/scram-verifier.js';
import { totpAt } from '../../gateway/access/totp.js';
import { migrate } from '../../gateway/store/sqlite/migrations.js';
import { testApp, type TestApp } from '../support/test-app.js';

describe('login decoys', () => {
  const decoys = new LoginDecoys(randomBytes(32));

  it('are deterministic per name, different across names and keys, and shaped like real verifiers', async () => {
    const real = parseScramVerifier(await makeScramVerifier('some password'))!;
    const a = decoys.scramKeys('alice');
    expect(decoys.scramKeys('alice')).toEqual(a);
    expect(decoys.scramKeys('Alice').salt.equals(a.salt)).toBe(false);
    expect(new LoginDecoys(randomBytes(32)).scramKeys('alice').salt.equals(a.salt)).toBe(false);
    expect(a.iterations).toBe(real.iterations);
    expect([a.salt.length, a.storedKey.length, a.serverKey.length]).toEqual([real.salt.length, real.storedKey.length, real.serverKey.length]);
    expect(decoys.scramVerifier('alice')).toMatch(/^SCRAM-SHA-256\$16384:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    expect(parseScramVerifier(decoys.scramVerifier('alice'))).toMatchObject({ salt: a.salt, iterations: a.iterations });
    expect(decoys.nativeVerifier('alice')).toMatch(/^[0-9a-f]{40}$/);
    expect(isDecoy(a)).toBe(true);
    expect(isDecoy(real)).toBe(false);
  });

  it('cannot be confused across the parts: no name makes its salt another name\'s key', () => {
    expect(decoys.scramKeys('x\0salt').salt.equals(decoys.scramKeys('x').salt)).toBe(false);
  });
});

describe('the authenticator before authentication', () => {
  let t: TestApp;
  afterEach(() => t.close());

  const withTotp = async (name: string): Promise<string> => {
    await t.user(name, ['ops']);
    const { secret } = await t.app.users.enrollTotp('admin', name, 'Portcullis');
    return secret;
  };

  it('runs SCRAM against a per-name decoy for unknown names and for a user with a code but no database password', async () => {
    t = await testApp();
    await t.user('ops', ['ops']);
    await withTotp('mfa');
    const authn = t.app.authn;
    const ops = await authn.scramBegin('ops', 'orders-db', '10.0.0.1');
    const mfa = await authn.scramBegin('mfa', 'orders-db', '10.0.0.1');
    const ghost = await authn.scramBegin('ghost', 'orders-db', '10.0.0.1');
    expect(isDecoy(ops)).toBe(false);
    expect(isDecoy(mfa) && isDecoy(ghost)).toBe(true);
    for (const k of [mfa, ghost]) expect([k.iterations, k.salt.length]).toEqual([ops.iterations, ops.salt.length]);
    expect((await authn.scramBegin('ghost', 'other-db', '10.0.0.2')).salt.equals(ghost.salt)).toBe(true);
    expect(mfa.salt.equals(ghost.salt)).toBe(false);
  });

  it('answers a database login the same for an unknown name, a wrong password, a user with a code and a disabled user', async () => {
    t = await testApp();
    await t.user('ops', ['ops']);
    await t.user('off', ['ops']);
    await t.app.users.setDisabled('admin', 'off', true);
    await withTotp('mfa');
    const authn = t.app.authn;
    const outcome = (name: string, password: string): Promise<string> => authn.dbPasswordLogin(name, 'orders-db', password, '10.0.0.1', 'mysql-caching-sha2')
      .then(() => 'in', (e: { code: string; message: string }) => `${e.code}: ${e.message}`);
    const unknown = await outcome('ghost', 'whatever-1');
    expect(unknown).toBe('invalid-credentials: invalid user name, password or one-time code');
    expect(await outcome('ops', 'wrong-password')).toBe(unknown);
    expect(await outcome('mfa', 'mfa-password-1')).toBe(unknown);
    expect(await outcome('off', 'off-password-1')).toBe(unknown);
    expect(await outcome('ops', 'ops-password-1')).toBe('in');
    const reasons = (await t.app.audit.page(0, 1000)).filter((e) => e.code === 'auth.failed').map((e) => (e.data as { reason: string }).reason);
    expect(reasons).toEqual(['unknown-user', 'bad-password', 'bad-db-password', 'disabled']);
  });

  it('does the same PBKDF2 work for an unknown name as for a known one (the figure is printed)', async () => {
    t = await testApp();
    await t.user('ops', ['ops']);
    const authn = t.app.authn;
    // CPU time of this process (PBKDF2 runs on libuv's threads, counted too), not the wall clock,
    // and the two names taken in turn: another process loading the machine moves neither figure.
    const cpuMs = async (name: string, i: number): Promise<number> => {
      const start = process.cpuUsage();
      await authn.dbPasswordLogin(name, 'orders-db', 'wrong-password', `10.1.${i}.1`, 'mysql-caching-sha2').catch(() => {});
      const d = process.cpuUsage(start);
      return (d.user + d.system) / 1000;
    };
    const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    await cpuMs('warm', 0);
    const k: number[] = [], u: number[] = [];
    for (let i = 1; i <= 15; i++) { k.push(await cpuMs('ops', i)); u.push(await cpuMs('ghost', 100 + i)); }
    const known = median(k), unknown = median(u);
    console.log(`caching_sha2 full-auth check, CPU median of 15: known name ${known.toFixed(2)} ms, unknown name ${unknown.toFixed(2)} ms`);
    expect(unknown).toBeGreaterThan(known * 0.5);
    expect(unknown).toBeLessThan(known * 2);
  });

  it('asks every name that the password did not authenticate alone for a code, and fails at its end', async () => {
    t = await testApp();
    await t.user('ops', ['ops']);
    const secret = await withTotp('mfa');
    const authn = t.app.authn;
    const step = (name: string, password: string): Promise<string> => authn.passwordStep(name, password, '10.0.0.1', 'ssh-keyboard-interactive').then((s) => s.kind);
    expect(await step('ops', 'ops-password-1')).toBe('authenticated');
    for (const [name, password] of [['ops', 'wrong'], ['ghost', 'x'], ['mfa', 'wrong'], ['mfa', 'mfa-password-1']] as const) {
      expect(await step(name, password)).toBe('code');
    }
    // The code ends it: a wrong password never gets in, not even with the right code.
    const wrong = await authn.passwordStep('mfa', 'wrong', '10.0.0.2', 'ssh-keyboard-interactive');
    if (wrong.kind !== 'code') throw new Error('expected the code round');
    await expect(authn.codeStep(wrong.pending, totpAt(secret, t.clock.now()), '10.0.0.2')).rejects.toMatchObject({ code: 'invalid-credentials' });
    const right = await authn.passwordStep('mfa', 'mfa-password-1', '10.0.0.3', 'ssh-keyboard-interactive');
    if (right.kind !== 'code') throw new Error('expected the code round');
    await expect(authn.codeStep(right.pending, totpAt(secret, t.clock.now()), '10.0.0.3')).resolves.toMatchObject({ name: 'mfa' });
    // One code try per password attempt, and no round made up by the caller.
    const once = await authn.passwordStep('mfa', 'mfa-password-1', '10.0.0.4', 'ssh-keyboard-interactive');
    if (once.kind !== 'code') throw new Error('expected the code round');
    await expect(authn.codeStep(once.pending, '000000', '10.0.0.4')).rejects.toMatchObject({ code: 'invalid-credentials' });
    t.clock.advance(30_000);
    await expect(authn.codeStep(once.pending, totpAt(secret, t.clock.now()), '10.0.0.4')).rejects.toMatchObject({ code: 'invalid-credentials' });
    const mfa = await t.app.store.users.byName('mfa');
    await expect(authn.codeStep({ name: 'mfa', userId: mfa!.id, method: 'x' }, totpAt(secret, t.clock.now()), '10.0.0.4')).rejects.toMatchObject({ code: 'invalid-credentials' });
  });

  it('counts one failure per attempt whatever the password: five right passwords without a code lock like five wrong ones', async () => {
    t = await testApp();
    await withTotp('mfa');
    const authn = t.app.authn;
    for (let i = 0; i < 5; i++) await authn.passwordStep('mfa', 'mfa-password-1', '10.0.0.1', 'ssh-keyboard-interactive');
    for (let i = 0; i < 5; i++) await authn.passwordStep('mfa', 'wrong', '10.0.0.2', 'ssh-keyboard-interactive');
    await expect(authn.passwordStep('mfa', 'mfa-password-1', '10.0.0.1', 'ssh-keyboard-interactive')).rejects.toMatchObject({ code: 'locked' });
    await expect(authn.passwordStep('mfa', 'wrong', '10.0.0.2', 'ssh-keyboard-interactive')).rejects.toMatchObject({ code: 'locked' });
  });

  it('takes a one-time code once when logins race with it', async () => {
    t = await testApp();
    const secret = await withTotp('mfa');
    const authn = t.app.authn;
    const code = totpAt(secret, t.clock.now());
    const pendings = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
      const s = await authn.passwordStep('mfa', 'mfa-password-1', `10.0.1.${i}`, 'ssh-keyboard-interactive');
      if (s.kind !== 'code') throw new Error('expected the code round');
      return s.pending;
    }));
    const results = await Promise.allSettled([
      ...pendings.map((p, i) => authn.codeStep(p, code, `10.0.1.${i}`)),
      authn.login({ user: 'mfa', password: 'mfa-password-1', totp: code, addr: '10.0.2.1', method: 'api-password' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    // An update made from a copy read before the code was taken cannot give it back.
    await t.app.users.setRoles('admin', 'mfa', ['dba']);
    await expect(authn.login({ user: 'mfa', password: 'mfa-password-1', totp: code, addr: '10.0.2.2', method: 'api-password' })).rejects.toMatchObject({ code: 'invalid-credentials' });
  });
});

describe('migration 9: mysql_native_password becomes opt-in', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the native verifier only of users whose native login is in the audit log', () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-mig8-'));
    const db = new Database(join(dir, 'state.db'));
    migrate(db, 7);
    const user = db.prepare(`INSERT INTO users (id, name, kind, roles, password_hash, ssh_keys, created_at, scram_verifier, native_verifier)
      VALUES (?, ?, 'human', '[]', 'h', '[]', 0, 's', ?)`);
    user.run('u1', 'legacy-app', 'aa'.repeat(20));
    user.run('u2', 'dba', 'bb'.repeat(20));
    user.run('u3', 'never', null);
    const audit = db.prepare("INSERT INTO audit (seq, ts, code, actor, data, prev_hash, hash) VALUES (?, 0, ?, 'x', ?, 'p', 'h')");
    audit.run(1, 'auth.succeeded', JSON.stringify({ addr: '10.0.0.1', method: 'mysql-native', user: 'legacy-app' }));
    audit.run(2, 'auth.succeeded', JSON.stringify({ addr: '10.0.0.1', method: 'mysql-caching-sha2', user: 'dba' }));
    audit.run(3, 'auth.failed', JSON.stringify({ addr: '10.0.0.1', method: 'mysql-native', reason: 'bad-password', user: 'dba' }));
    migrate(db);
    const rows = db.prepare('SELECT name, mysql_native, native_verifier FROM users ORDER BY name').all();
    expect(rows).toEqual([
      { name: 'dba', mysql_native: 0, native_verifier: null },
      { name: 'legacy-app', mysql_native: 1, native_verifier: 'aa'.repeat(20) },
      { name: 'never', mysql_native: 0, native_verifier: null },
    ]);
    db.close();
  });
});
