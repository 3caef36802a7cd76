// How a second factor reaches psql: a user with TOTP cannot log in with the account password alone,
// and logs in with a one-time database password issued for the active grant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpAt } from '../../gateway/access/totp.js';
import { DBA_PASSWORD, type PgFixture, startPgFixture } from '../harness/pg-fixture.js';
import { cli } from '../harness/gateway.js';
import { tlsCaArgs } from '../harness/test-ca.js';

let fx: PgFixture;

beforeAll(async () => {
  fx = await startPgFixture();
  fx.grant('30m');
  const enrol = fx.gw.admin(['user', 'totp', 'dba', '--json']);
  const secret = /secret=([A-Z2-7]+)/.exec(enrol.stdout)![1]!;
  expect(fx.gw.login('dba', DBA_PASSWORD, totpAt(secret, Date.now())).code).toBe(0);
}, 120_000);

afterAll(async () => { await fx?.stop(); });

describe('database logins for users with a second factor', () => {
  it('refuses the account password alone and says how to get a database password', () => {
    const r = fx.psql(['-c', 'select 1']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/password authentication failed for user "dba"/);
    expect(r.stderr).toMatch(/an account with a one-time code or single sign-on uses a database password from: portcullis db-password orders-db/);
  });

  it('logs in with the one-time database password, which a new one replaces', () => {
    const first = fx.gw.as('dba', ['db-password', 'orders-db']);
    expect(first.code, first.stderr).toBe(0);
    const password = first.stdout.trim();
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(first.stderr).toMatch(/valid until/);
    const ok = fx.psql(['-tAc', 'select current_user'], { password });
    expect(ok.stdout.trim()).toBe('app');
    const second = fx.gw.as('dba', ['db-password', 'orders-db']).stdout.trim();
    expect(fx.psql(['-c', 'select 1'], { password }).stderr).toMatch(/password authentication failed/);
    expect(fx.psql(['-tAc', 'select 1'], { password: second }).stdout.trim()).toBe('1');
    expect(fx.gw.admin(['audit', 'export']).stdout).not.toContain(password);
  });

  it('issues none without an active grant', () => {
    fx.gw.admin(['target', 'add', 'spare-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(fx.pg.port), '--account', 'app', ...tlsCaArgs(), '--password-stdin'], 'x\n');
    expect(fx.gw.as('dba', ['db-password', 'spare-db']).stderr).toMatch(/no active grant for dba on spare-db/);
  });

  it('gives a user without a password of their own (single sign-on, keys only, services) the grant\'s one-time database password', () => {
    expect(fx.gw.admin(['user', 'add', 'nopass', '--service', '--role', 'dba']).code).toBe(0);
    const tok = fx.gw.admin(['user', 'token', 'nopass', '--json']);
    expect(tok.code, tok.stderr).toBe(0);
    const env = { PORTCULLIS_URL: fx.gw.url, PORTCULLIS_TOKEN: (JSON.parse(tok.stdout) as { token: string }).token, PORTCULLIS_CA: fx.gw.caFile };
    expect(fx.gw.admin(['grant', 'add', '--user', 'nopass', '--target', 'orders-db', '--for', '10m', '--reason', 'test']).code).toBe(0);
    const pw = cli(['db-password', 'orders-db'], { env });
    expect(pw.code, pw.stderr).toBe(0);
    const as = (password: string): ReturnType<typeof fx.psql> => fx.psql(['-tAc', 'select current_user'], { password, conninfo: fx.conninfo().replace('user=dba+orders-db', 'user=nopass+orders-db') });
    expect(as(pw.stdout.trim()).stdout.trim()).toBe('app');
    expect(as('not-it').stderr).toMatch(/password authentication failed for user "nopass\+orders-db"|password authentication failed/);
  });
});
