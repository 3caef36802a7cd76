// The mariadb client and the mysql2 driver through Portcullis to a real MariaDB.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/common.js';
import { DBA_PASSWORD, type MyFixture, SHOP_PASSWORD, startMyFixture } from '../harness/my-fixture.js';
import { Tmux } from '../harness/ssh-fixture.js';
import { recordingsRoot } from '../../recorder/layout.js';
import { tlsPinArgs } from '../harness/test-ca.js';

let fx: MyFixture;

beforeAll(async () => {
  fx = await startMyFixture();
  fx.grant('30m');
}, 120_000);

afterAll(async () => { await fx?.stop(); });

const connect = (opts: Partial<mysql.ConnectionOptions> = {}): Promise<mysql.Connection> => mysql.createConnection({
  host: '127.0.0.1', port: fx.gw.ports.mysql, user: 'dba+shop-db', password: DBA_PASSWORD, database: 'shop',
  ssl: { ca: readFileSync(fx.gw.caFile, 'utf8') }, ...opts,
});

describe('mysql clients through Portcullis', () => {
  it('logs in with TLS as the vaulted account and shows the target\'s real server version', () => {
    const r = fx.client('select current_user(), database(), version()');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/shopapp@127\.0\.0\.1\tshop\t10\.11\.\d+-MariaDB/);
  });

  it('logs in with mysql_native_password for clients that use it, once the user is opted in', () => {
    const native = ['--default-auth=mysql_native_password'];
    const before = fx.client('select 42', { extra: native });
    expect(before.status).not.toBe(0);
    expect(before.stderr).toMatch(/mysql_native_password works only for accounts an admin enabled it for \(portcullis user update NAME --mysql-native-password\)/);
    expect(fx.gw.admin(['user', 'update', 'dba', '--mysql-native-password']).code).toBe(0);
    // The verifier native needs is made from the next password login (the admin never knows it).
    expect(fx.client('select 1').status).toBe(0);
    const r = fx.client('select 42', { extra: native });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/42/);
    const natives = fx.gw.admin(['audit', 'export']).stdout.split('\n').filter((l) => l.includes('"auth.succeeded"') && l.includes('"mysql-native"'));
    expect(natives).toHaveLength(1);
  });

  it('runs statements, multi-statements and a transaction with rollback', async () => {
    expect(fx.client('create table items(id int primary key, name text); insert into items values (1, "a"), (2, "b")').status).toBe(0);
    const c = await connect({ multipleStatements: true });
    try {
      const [results] = await c.query('select count(*) as n from items; select name from items order by id');
      expect((results as unknown as Array<Array<Record<string, unknown>>>)[0]).toEqual([{ n: 2 }]);
      expect((results as unknown as Array<Array<Record<string, unknown>>>)[1]).toEqual([{ name: 'a' }, { name: 'b' }]);
      await c.beginTransaction();
      await c.query("insert into items values (3, 'c')");
      await expect(c.query("insert into items values (1, 'dup')")).rejects.toThrow(/Duplicate entry/);
      await c.rollback();
      const [rows] = await c.query('select count(*) as n from items');
      expect(rows).toEqual([{ n: 2 }]);
    } finally {
      await c.end();
    }
  });

  it('runs prepared statements with parameters through mysql2 and records them', async () => {
    const c = await connect();
    try {
      const [rows] = await c.execute('select name from items where id = ? and name <> ?', [2, 'zz']);
      expect(rows).toEqual([{ name: 'b' }]);
      const [res] = await c.execute('update items set name = ? where id = ?', ['bee', 2]);
      expect((res as mysql.ResultSetHeader).affectedRows).toBe(1);
    } finally {
      await c.end();
    }
    await waitFor('prepared records', () => fx.statements().some((s) => s.sql.startsWith('update items')), 5000);
    expect(fx.statements()).toEqual(expect.arrayContaining([
      expect.objectContaining({ sql: 'select name from items where id = ? and name <> ?', path: 'prepared', params: ['2', 'zz'], rows_returned: 1, rows_affected: null }),
      expect.objectContaining({ sql: 'update items set name = ? where id = ?', path: 'prepared', params: ['bee', '2'], rows_affected: 1, rows_returned: null }),
    ]));
  });

  it('streams a 100,000-row result', async () => {
    const c = await connect();
    try {
      const [rows] = await c.query('select seq from seq_1_to_100000');
      expect((rows as unknown[]).length).toBe(100_000);
    } finally {
      await c.end();
    }
    await waitFor('big result recorded', () => fx.statements().some((s) => s.sql === 'select seq from seq_1_to_100000' && s.rows_returned === 100000), 5000);
  });

  it('records errors with their code, and never the vaulted password', async () => {
    fx.client('select * from nope');
    await waitFor('error recorded', () => fx.statements().some((s) => s.sql === 'select * from nope'), 5000);
    expect(fx.statements().find((s) => s.sql === 'select * from nope')).toMatchObject({ v: 1, protocol: 'mysql', path: 'simple', error: { sqlstate: '42S02', code: 1146 } });
    const root = recordingsRoot(fx.gw.dataDir);
    const all = readdirSync(root).map((d) => readdirSync(join(root, d)).map((f) => readFileSync(join(root, d, f), 'utf8')).join('')).join('');
    expect(all).not.toContain(SHOP_PASSWORD);
    expect(fx.gw.log()).not.toContain(SHOP_PASSWORD);
    expect(fx.client('select 1').stdout + fx.client('select 1').stderr).not.toContain(SHOP_PASSWORD);
  });

  it('refuses COM_CHANGE_USER instead of passing it through', async () => {
    const c = await connect();
    try {
      await expect(c.changeUser({ user: 'root' })).rejects.toThrow(/COM_CHANGE_USER is not supported through Portcullis/);
    } finally {
      c.destroy();
    }
  });

  it('cancels SELECT SLEEP(30) with Ctrl-C in the mariadb client, and refuses KILL of a thread it did not issue', async () => {
    const t = Tmux.start(`mariadb --no-defaults -h 127.0.0.1 -P ${fx.gw.ports.mysql} -u dba+shop-db -p${DBA_PASSWORD} --ssl shop`);
    try {
      await t.waitFor(/MariaDB \[shop\]>/);
      const t0 = Date.now();
      t.send('select sleep(30);');
      await new Promise((r) => setTimeout(r, 1000));
      t.key('C-c');
      await t.waitFor(/Query execution was interrupted|1 row in set/, 10_000);
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      t.kill();
    }
    const r = fx.client('kill query 1');
    expect(r.stderr).toMatch(/ERROR 1094 .*Unknown thread id: 1/);
  });

  it('refuses a wrong password, a missing grant, a user without a target and plaintext', () => {
    expect(fx.client('select 1', { password: 'wrong' }).stderr).toMatch(/ERROR 1045 \(28000\).*Access denied for user 'dba\+shop-db'/);
    fx.gw.admin(['target', 'add', 'other-db', '--kind', 'mysql', '--host', '127.0.0.1', '--port', String(fx.db.port), '--account', 'shopapp', ...tlsPinArgs(), '--password-stdin'], `${SHOP_PASSWORD}\n`);
    expect(fx.client('select 1', { user: 'dba+other-db' }).stderr).toMatch(/ERROR 1045 \(28000\).*no active grant for dba on other-db; request one with: portcullis request other-db/);
    expect(fx.client('select 1', { user: 'dba' }).stderr).toMatch(/connect as USER\+TARGET/);
    const plain = fx.client('select 1', { extra: ['--skip-ssl'] });
    expect(plain.stderr).toMatch(/ERROR 3159 .*Portcullis requires TLS/);
  });
});
