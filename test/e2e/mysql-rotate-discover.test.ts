// Issue 15 on MariaDB through the built gateway, the static half and discovery: `target rotate` and
// `--rotate after-session` on a static mysql target (the old password no longer logs in directly,
// sessions through the gateway keep working), an account dropped within seconds of its grant's
// expiry, `discover` finding a superuser created behind the
// gateway's back next to the managed provisioner and a live ephemeral account, and MariaDB's general
// log (on for the whole file) never holding a password in clear for account creation or rotation.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/common.js';
import { json } from '../harness/gateway.js';
import { type MyEphemeral, USER_PASSWORD, startMyEphemeral } from '../harness/my-ephemeral.js';
import { PROV_PASSWORD, directSql } from '../harness/my-provision.js';
import { nativeHash } from '../../gateway/mysql/admin-sql.js';
import { tlsPinArgs } from '../harness/test-ca.js';
import type { DiscoveryFindingView } from '../../gateway/api-types.js';

const STATIC_PASSWORD = 'Static-Vaulted-Canary-4';
let fx: MyEphemeral;
let generalLog = '';

beforeAll(async () => {
  fx = await startMyEphemeral({ PORTCULLIS_EPHEMERAL_RECONCILE_INTERVAL: '1s' }, ['carol', 'dave']);
  generalLog = join(fx.db.dir, 'general.log');
  fx.db.sql(`SET GLOBAL general_log_file = '${generalLog}'; SET GLOBAL general_log = ON;`);
  // The static account as a hash: the test's own setup leaves no clear password in the log either.
  fx.db.sql(`CREATE USER 'shopapp'@'%' IDENTIFIED BY PASSWORD '${nativeHash(Buffer.from(STATIC_PASSWORD))}'; GRANT ALL ON shop.* TO 'shopapp'@'%';`);
  const add = fx.gw.admin(['target', 'add', 'shopstatic', '--kind', 'mysql', '--host', '127.0.0.1', '--port', String(fx.db.port), '--account', 'shopapp',
    '--database', 'shop', ...tlsPinArgs(), '--password-stdin'], `${STATIC_PASSWORD}\n`);
  if (add.code !== 0) throw new Error(add.stderr);
  fx.grant('carol', 'shopstatic', '30m');
  fx.grant('carol', 'shop', '30m', 'read');
}, 120_000);

afterAll(async () => { await fx?.stop(); });

const rotations = (): Array<{ data: { target: string; trigger: string; verified: boolean } }> =>
  json<Array<{ code: string; data: { target: string; trigger: string; verified: boolean } }>>(fx.gw.admin(['audit', 'list', '--json', '--limit', '1000']))
    .filter((e) => e.code === 'credential.rotated' && e.data.target === 'shopstatic');

describe('rotation of a static MariaDB account', () => {
  it('target rotate: the old password fails a direct login, sessions through the gateway still work', () => {
    expect(directSql(fx.db, 'shopapp', STATIC_PASSWORD, 'SELECT 1').status).toBe(0);
    expect(fx.client('carol+shopstatic', 'SELECT CURRENT_USER()').stdout.trim()).toBe('shopapp@%');
    const r = fx.gw.admin(['target', 'rotate', 'shopstatic']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(STATIC_PASSWORD);
    const old = directSql(fx.db, 'shopapp', STATIC_PASSWORD, 'SELECT 1');
    expect(old.status).not.toBe(0);
    expect(old.stderr).toMatch(/Access denied/);
    const after = fx.client('carol+shopstatic', 'SELECT CURRENT_USER()');
    expect(after.stderr).toBe('');
    expect(after.stdout.trim()).toBe('shopapp@%');
    expect(rotations().map((e) => e.data)).toEqual([expect.objectContaining({ trigger: 'manual', verified: true })]);
  }, 30_000);

  it('--rotate after-session: a session\'s end rotates the password, and the next session logs in with the new one', async () => {
    const up = fx.gw.admin(['target', 'update', 'shopstatic', '--rotate', 'after-session']);
    expect(up.code, up.stderr).toBe(0);
    const before = rotations().length;
    const s = fx.client('carol+shopstatic', 'SELECT 1');
    expect(s.stderr).toBe('');
    await waitFor('an after-session rotation', () => rotations().length > before, 20_000);
    expect(rotations().at(-1)?.data).toMatchObject({ trigger: 'after-session', verified: true });
    const next = fx.client('carol+shopstatic', 'SELECT CURRENT_USER()');
    expect(next.stderr).toBe('');
    expect(next.stdout.trim()).toBe('shopapp@%');
    // Back to off, so later sessions in this file do not rotate under the log check.
    expect(fx.gw.admin(['target', 'update', 'shopstatic', '--rotate', 'off']).code).toBe(0);
  }, 40_000);
});

describe('discovery on MariaDB', () => {
  it('lists a superuser created behind the gateway\'s back as unmanaged, pcprov and a live ephemeral account as managed', () => {
    // Discovery lists accounts with global or grant-option privileges only: a plain read account is
    // not among them. With GRANT OPTION on its SELECT, the read level's account is, and must be managed.
    fx.db.sql('GRANT SELECT ON shop.* TO pc_read WITH GRANT OPTION');
    const live = fx.client('carol+shop', 'SELECT CURRENT_USER()');
    expect(live.stderr).toBe('');
    const account = live.stdout.trim().split('@')[0]!;
    expect(account).toMatch(/^pcx_[a-z2-7]{12}$/);
    fx.db.sql(`CREATE USER 'sneaky'@'%' IDENTIFIED BY PASSWORD '${nativeHash(Buffer.from('Sneaky-Pw-1'))}'; GRANT ALL ON *.* TO 'sneaky'@'%' WITH GRANT OPTION;`);
    const rows = json<DiscoveryFindingView[]>(fx.gw.admin(['discover', 'shop', '--json']));
    const row = (name: string): DiscoveryFindingView | undefined => rows.find((r) => r.account === `'${name}'@'%'`);
    expect(row('sneaky')).toMatchObject({ managed: false });
    expect(row('sneaky')?.privileges.length).toBeGreaterThan(0);
    expect(row('pcprov')).toMatchObject({ managed: true });
    expect(row(account)).toMatchObject({ managed: true, privileges: ['grant-option'] });
    const table = fx.gw.admin(['discover', 'shop']).stdout;
    expect(table).toMatch(/sneaky.* NO /);
    expect(table).toMatch(/NOT managed by Portcullis/);
  }, 30_000);
});

describe('the end of a grant by expiry', () => {
  it('cuts the session at the grant\'s end and drops its account within seconds', async () => {
    const end = Date.now() + 5000;
    fx.grant('dave', 'shop', '5s', 'read');
    const c = await fx.connect('dave+shop');
    c.on('error', () => {});
    try {
      const [[row]] = await c.query('SELECT CURRENT_USER() AS u') as unknown as [[{ u: string }]];
      const account = row.u.split('@')[0]!;
      expect(fx.userExists(account)).toBe(true);
      await waitFor('the session cut at expiry', async () => c.query('SELECT 1').then(() => false, () => true), 15_000);
      await waitFor(`${account} dropped`, () => !fx.userExists(account), 15_000);
      // Within seconds of the end (reconcile every second; slack for a loaded machine).
      expect(Date.now() - end).toBeLessThan(10_000);
    } finally {
      c.destroy();
    }
  }, 30_000);
});

describe('MariaDB general log', () => {
  it('holds no password in clear for account creation or rotation', () => {
    const log = readFileSync(generalLog, 'utf8');
    // Something to look at: an ephemeral account created and the static one rotated (and its after-session run).
    const creates = log.split('\n').filter((l) => /CREATE USER .*pcx_/i.test(l));
    const sets = log.split('\n').filter((l) => /SET PASSWORD/i.test(l));
    expect(creates.length).toBeGreaterThan(0);
    expect(sets.length).toBeGreaterThanOrEqual(2);
    for (const l of creates) expect(l).toMatch(/IDENTIFIED BY PASSWORD '\*[0-9A-F]{40}'/);
    for (const l of sets) expect(l).toMatch(/SET PASSWORD\s*=\s*'\*[0-9A-F]{40}'/);
    // No clear-text forms anywhere: IDENTIFIED BY '<clear>', PASSWORD('<clear>'), ALTER USER ... IDENTIFIED BY '<clear>'.
    expect(log).not.toMatch(/IDENTIFIED BY '/i);
    expect(log).not.toMatch(/PASSWORD\s*\(/i);
    for (const canary of [PROV_PASSWORD, STATIC_PASSWORD, USER_PASSWORD]) expect(log).not.toContain(canary);
    for (const canary of [PROV_PASSWORD, STATIC_PASSWORD, USER_PASSWORD]) expect(fx.gw.log()).not.toContain(canary);
  });
});
