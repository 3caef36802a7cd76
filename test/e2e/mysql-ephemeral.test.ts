// Zero standing privilege on MariaDB end to end (issue 15): the built gateway, a real MariaDB and the
// mariadb client / mysql2. An ephemeral target `shop` (provisioner pcprov, levels read and write):
// the provisioner check, per-grant pcx_ accounts at the grant's level, two users unable to see or
// kill each other, an account dropped within seconds of a revocation, kept by an extension, and
// dropped after a kill -9 of the gateway once its grant ended while the gateway was down.
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminIn } from '../harness/cli-in-process.js';
import { waitFor } from '../harness/common.js';
import { type CliResult, json } from '../harness/gateway.js';
import { type MyEphemeral, startMyEphemeral } from '../harness/my-ephemeral.js';
import { nativeHash } from '../../gateway/mysql/admin-sql.js';
import { tlsPinArgs } from '../harness/test-ca.js';
import type { EphemeralAccountView } from '../../gateway/api-types.js';

let fx: MyEphemeral;

beforeAll(async () => {
  fx = await startMyEphemeral({ PORTCULLIS_EPHEMERAL_RECONCILE_INTERVAL: '1s' }, ['alice', 'bob']);
}, 120_000);

afterAll(async () => { await fx?.stop(); });

const ACCOUNT = /^pcx_[a-z2-7]{12}$/;
// The admin CLI in process (test/harness/cli-in-process.ts): the same code without ~1.2 s of Node
// start-up a call, so the short grants below are extended or listed well before their end.
const admin = (args: string[], stdin?: string): Promise<CliResult> => adminIn(fx.gw, args, stdin);
const grantIn = async (user: string, target: string, duration: string, level: string): Promise<string> =>
  json<{ id: string }>(await admin(['grant', 'add', '--user', user, '--target', target, '--for', duration, '--reason', 'test', '--level', level, '--json'])).id;
const accounts = async (): Promise<EphemeralAccountView[]> => json<EphemeralAccountView[]>(await admin(['ephemeral', 'list', '--json']));
const audit = async (): Promise<Array<{ code: string; data: Record<string, unknown> }>> => json(await admin(['audit', 'list', '--json', '--limit', '1000']));
const currentUser = async (c: mysql.Connection): Promise<string> => {
  const [rows] = await c.query('SELECT CURRENT_USER() AS u');
  return (rows as Array<{ u: string }>)[0]!.u.split('@')[0]!;
};
const closeQuietly = async (c: mysql.Connection | undefined): Promise<void> => { await c?.end().catch(() => c.destroy()); };

describe('ephemeral MariaDB accounts through the gateway', () => {
  it('target test passes for pcprov, and names the right a weaker provisioner lacks', async () => {
    const ok = await admin(['target', 'test', 'shop']);
    expect(ok.code, ok.stderr + ok.stdout).toBe(0);
    // A provisioner that may create users but not end other connections nor hand out the write role.
    fx.db.sql(`CREATE USER 'weakprov'@'%' IDENTIFIED BY PASSWORD '${nativeHash(Buffer.from('Weak-Prov-9'))}';
      GRANT CREATE USER, PROCESS ON *.* TO 'weakprov'@'%'; GRANT SELECT ON mysql.* TO 'weakprov'@'%'; GRANT pc_read TO 'weakprov'@'%' WITH ADMIN OPTION;`);
    const add = await admin(['target', 'add', 'shopweak', '--kind', 'mysql', '--host', '127.0.0.1', '--port', String(fx.db.port), '--account', 'weakprov',
      '--database', 'shop', ...tlsPinArgs(), '--credential', 'ephemeral', '--level', 'read=pc_read', '--level', 'write=pc_read,pc_write', '--password-stdin'], 'Weak-Prov-9\n');
    expect(add.code, add.stderr).toBe(0);
    const weak = await admin(['target', 'test', 'shopweak']);
    expect(weak.code).not.toBe(0);
    const said = weak.stderr + weak.stdout;
    expect(said).toMatch(/CONNECTION ADMIN|SUPER/);
    expect(said).toContain('pc_write');
    expect(said).not.toContain('Weak-Prov-9');
  }, 30_000);

  it('gives alice (read) a pcx_ account that cannot INSERT, and bob (+write) one that can', async () => {
    await grantIn('alice', 'shop', '30m', 'read');
    await grantIn('bob', 'shop', '30m', 'write');
    const who = fx.client('alice+shop', 'SELECT CURRENT_USER(); SELECT name FROM shop.items WHERE id = 1');
    expect(who.stderr).toBe('');
    const [user, name] = who.stdout.trim().split('\n');
    expect(user).toMatch(/^pcx_[a-z2-7]{12}@%$/);
    expect(name).toBe('apple');
    const denied = fx.client('alice+shop', "INSERT INTO shop.items VALUES (2, 'pear')");
    expect(denied.status).not.toBe(0);
    expect(denied.stderr).toMatch(/INSERT command denied/);
    const ins = fx.client('bob+shop+write', "INSERT INTO shop.items VALUES (3, 'plum'); SELECT CURRENT_USER()");
    expect(ins.stderr).toBe('');
    expect(ins.stdout.trim()).toMatch(/^pcx_[a-z2-7]{12}@%$/);
    expect(ins.stdout.trim()).not.toBe(user);
    expect(fx.db.sql('SELECT name FROM shop.items WHERE id = 3').trim()).toBe('plum');
    const rows = await accounts();
    expect(rows.filter((r) => r.state === 'active').map((r) => [r.user, r.level]).sort()).toEqual([['alice', 'read'], ['bob', 'write']]);
  }, 40_000);

  it('alice and bob at once: neither sees the other in PROCESSLIST, and neither KILL id reaches the other', async () => {
    let a: mysql.Connection | undefined;
    let b: mysql.Connection | undefined;
    try {
      [a, b] = await Promise.all([fx.connect('alice+shop'), fx.connect('bob+shop+write')]);
      const [aUser, bUser] = await Promise.all([currentUser(a), currentUser(b)]);
      expect(aUser).toMatch(ACCOUNT);
      expect(bUser).toMatch(ACCOUNT);
      const [[bRow]] = await b.query('SELECT CONNECTION_ID() AS id') as unknown as [[{ id: number }]];
      const bThread = bRow.id;
      expect(fx.db.sql('SELECT USER FROM information_schema.PROCESSLIST').split('\n')).toEqual(expect.arrayContaining([aUser, bUser]));
      for (const [c, self] of [[a, aUser], [b, bUser]] as const) {
        const [rows] = await c.query('SELECT USER FROM information_schema.PROCESSLIST');
        const users = new Set((rows as Array<{ USER: string }>).map((r) => r.USER));
        expect([...users]).toEqual([self]);
      }
      // The id bob's client knows (the gateway's) and the server's thread id: both refused to alice.
      await expect(a.query(`KILL ${b.threadId}`)).rejects.toThrow(/Unknown thread id|not owner/);
      await expect(a.query(`KILL ${bThread}`)).rejects.toThrow(/Unknown thread id|not owner/);
      await expect(a.query(`KILL QUERY ${bThread}`)).rejects.toThrow(/Unknown thread id|not owner/);
      const [[still]] = await b.query('SELECT 1 AS one') as unknown as [[{ one: number }]];
      expect(still.one).toBe(1);
      // Nothing of the account lets it see or end others: its grants are USAGE and its level role.
      const [grants] = await a.query('SHOW GRANTS');
      const lines = (grants as Array<Record<string, string>>).map((r) => Object.values(r)[0]!).join('\n');
      expect(lines).not.toMatch(/PROCESS|CONNECTION ADMIN|SUPER|ALL PRIVILEGES/);
    } finally {
      await Promise.all([closeQuietly(a), closeQuietly(b)]);
    }
  }, 40_000);

  it('revoking alice\'s grant cuts her session and drops her account within seconds', async () => {
    const grant = json<Array<{ id: string; user: string; status: string }>>(await admin(['grant', 'list', '--active', '--json'])).find((g) => g.user === 'alice')!;
    const a = await fx.connect('alice+shop');
    a.on('error', () => {});
    try {
      const account = await currentUser(a);
      expect(fx.userExists(account)).toBe(true);
      const r = await admin(['grant', 'revoke', grant.id]);
      expect(r.code, r.stderr).toBe(0);
      await waitFor('alice\'s session cut', async () => a.query('SELECT 1').then(() => false, () => true), 10_000);
      await waitFor(`${account} dropped on the server`, () => !fx.userExists(account), 10_000);
      await waitFor('listed as dropped', async () => (await accounts()).some((x) => x.account === account && x.state === 'dropped'), 10_000);
      const events = await audit();
      expect(events.some((e) => e.code === 'ephemeral.created' && e.data.account === account && e.data.level === 'read')).toBe(true);
      expect(events.some((e) => e.code === 'ephemeral.dropped' && e.data.account === account)).toBe(true);
    } finally {
      a.destroy();
    }
  }, 40_000);

  it('an extended grant keeps its account past the original end (MariaDB accounts carry no expiry)', async () => {
    const originalEnd = Date.now() + 6000;
    const grant = await grantIn('alice', 'shop', '6s', 'read');
    const first = fx.client('alice+shop', 'SELECT CURRENT_USER()');
    expect(first.stderr).toBe('');
    const account = first.stdout.trim().split('@')[0]!;
    const ext = await admin(['grant', 'extend', grant, '--by', '5m']);
    expect(ext.code, ext.stderr).toBe(0);
    // Past the original end and a few reconcile passes (1 s each): still there and still usable.
    await waitFor('the original end and three reconcile passes', () => Date.now() > originalEnd + 3000, 15_000);
    expect(fx.userExists(account)).toBe(true);
    expect((await accounts()).find((x) => x.account === account)?.state).toBe('active');
    const again = fx.client('alice+shop', 'SELECT CURRENT_USER()');
    expect(again.stdout.trim().split('@')[0]).toBe(account);
    expect((await admin(['grant', 'revoke', grant])).code).toBe(0);
    await waitFor(`${account} dropped after revoke`, () => !fx.userExists(account), 10_000);
  }, 45_000);

  it('kill -9 with a live session: the grant ends while the gateway is down, and a restart drops the account', async () => {
    const grant = await grantIn('alice', 'shop', '5s', 'read');
    const a = await fx.connect('alice+shop');
    a.on('error', () => {});
    const account = await currentUser(a);
    const row = (await accounts()).find((x) => x.grant === grant)!;
    expect(row.account).toBe(account);
    await fx.gw.crash();
    a.destroy();
    expect(fx.userExists(account)).toBe(true);
    await waitFor('the grant to end while down', () => Date.now() > Date.parse(row.expires_at) + 500, 10_000);
    await fx.gw.restart();
    await waitFor(`${account} dropped after the restart`, () => !fx.userExists(account), 15_000);
    await waitFor('listed as dropped', async () => (await accounts()).some((x) => x.account === account && x.state === 'dropped'), 10_000);
  }, 50_000);
});
