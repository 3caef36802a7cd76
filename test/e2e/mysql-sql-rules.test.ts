// SQL rules against a real MariaDB, rules added with `portcullis rule add`: the mariadb client's
// TRUNCATE denied with error 1142 and the table still there (also behind a first statement, in
// executable comments, and as literal dynamic SQL; dynamic SQL from a variable is refused already
// by the KILL scanner); DELETE without WHERE denied while DELETE ... WHERE id = 1 runs; a prepared
// statement (COM_STMT_PREPARE, mysql2) denied; SET NAMES (which node-sql-parser cannot parse) still
// runs; the session goes on after each denial.
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, run } from '../harness/common.js';
import { DBA_PASSWORD, type MyFixture, startMyFixture } from '../harness/my-fixture.js';

let fx: MyFixture;

beforeAll(async () => {
  fx = await startMyFixture();
  fx.grant('30m');
  const r = fx.client('create table items(id int primary key, name text); insert into items values (1, "a"), (2, "b"), (3, "c")', { extra: ['shop'] });
  if (r.status !== 0) throw new Error(r.stderr);
  for (const args of [
    ['no-truncate', '--kind', 'sql', '--class', 'truncate', '--action', 'deny', '--message', 'no truncates on shop-db'],
    ['no-unbounded', '--kind', 'sql', '--class', 'unbounded-write', '--action', 'deny', '--message', 'add a WHERE'],
    ['no-sleep', '--kind', 'sql', '--class', 'function:sleep', '--action', 'deny', '--message', 'no sleeping'],
  ]) {
    const a = fx.gw.admin(['rule', 'add', ...args]);
    if (a.code !== 0) throw new Error(a.stderr);
  }
}, 120_000);

afterAll(async () => { await fx?.stop(); });

/** The mariadb client reading statements from stdin in one connection, going on after errors (--force). */
const script = (input: string): { status: number; stdout: string; stderr: string } => run(requireBinary('mariadb-client', 'mariadb'), [
  '--no-defaults', '-h', '127.0.0.1', '-P', String(fx.gw.ports.mysql), '-u', 'dba+shop-db', `-p${DBA_PASSWORD}`, '--ssl', '--batch', '--force', 'shop',
], { input });

const count = (): string => fx.db.sql('select count(*) from shop.items').trim();

describe('SQL rules with the mariadb client', () => {
  it('denies TRUNCATE with 1142 and the message; the table is still there and the session goes on', () => {
    const r = script('truncate table items;\nselect 40 + 2;\n');
    expect(r.stderr).toMatch(/ERROR 1142 \(42000\).*Portcullis: no truncates on shop-db/);
    expect(r.stdout).toMatch(/\b42\b/);
    expect(count()).toBe('3');
    for (const sql of ['select 1; truncate items', '/*!40101 TRUNCATE items */', "execute immediate 'truncate items'", '/*M!100100 truncate items */']) {
      const e = script(`${sql};\nselect 43;\n`);
      expect(e.stderr, sql).toMatch(/ERROR 1142 .*Portcullis: no truncates on shop-db/);
    }
    expect(count()).toBe('3');
  });

  it('denies DELETE without WHERE while DELETE ... WHERE id = 1 runs; SET NAMES runs', () => {
    const r = script('set names utf8mb4;\ndelete from items;\ndelete from items where 1=1;\ndelete from items where id = 1;\nselect count(*) as n from items;\n');
    expect(r.stderr.match(/ERROR 1142 .*Portcullis: add a WHERE/g)).toHaveLength(2);
    expect(r.stdout).toMatch(/n\n2\n/);
    expect(count()).toBe('2');
  });
});

describe('SQL rules with mysql2', () => {
  it('denies text and prepared statements; the connection goes on', async () => {
    const c = await mysql.createConnection({
      host: '127.0.0.1', port: fx.gw.ports.mysql, user: 'dba+shop-db', password: DBA_PASSWORD, database: 'shop',
      ssl: { ca: readFileSync(fx.gw.caFile, 'utf8') },
    });
    try {
      await expect(c.query('select SLEEP(0.1)')).rejects.toMatchObject({ errno: 1142, message: 'Portcullis: no sleeping' });
      await expect(c.execute('update items set name = ?', ['x'])).rejects.toMatchObject({ errno: 1142, message: 'Portcullis: add a WHERE' });
      const [res] = await c.execute('update items set name = ? where id = ?', ['bee', 2]);
      expect((res as mysql.ResultSetHeader).affectedRows).toBe(1);
      const [rows] = await c.query('select name from items where id = 2');
      expect(rows).toEqual([{ name: 'bee' }]);
    } finally {
      await c.end();
    }
  });

  it('a statement prepared before a deny rule was added is refused at its next COM_STMT_EXECUTE', async () => {
    const opts = { host: '127.0.0.1', port: fx.gw.ports.mysql, user: 'dba+shop-db', password: DBA_PASSWORD, database: 'shop', ssl: { ca: readFileSync(fx.gw.caFile, 'utf8') } };
    const c = await mysql.createConnection(opts);
    const probe = await mysql.createConnection(opts);
    try {
      await c.query('create table scratch(id int)');
      // mysql2 prepares once per text and connection, then sends only COM_STMT_EXECUTE.
      await c.execute('insert into scratch values (?)', [1]);
      const a = fx.gw.admin(['rule', 'add', 'no-scratch', '--kind', 'sql', '--match', 'insert into scratch', '--action', 'deny', '--message', 'scratch is frozen']);
      if (a.code !== 0) throw new Error(a.stderr);
      for (let i = 0; i < 50; i++) {
        if (await probe.query("select 'insert into scratch'").then(() => false, () => true)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await expect(c.execute('insert into scratch values (?)', [2])).rejects.toMatchObject({ errno: 1142, message: 'Portcullis: scratch is frozen' });
      const [rows] = await c.query('select count(*) as n from scratch');
      expect(rows).toEqual([{ n: 1 }]);
    } finally {
      fx.gw.admin(['rule', 'remove', 'no-scratch']);
      await c.end();
      await probe.end();
    }
  });
});
