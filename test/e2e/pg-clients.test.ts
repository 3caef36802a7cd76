// Drivers and tools through Portcullis: node-postgres with parameters and prepared statements,
// pgbench in all three query modes, and psql's Ctrl-C cancel of a long query.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, run, waitFor } from '../harness/common.js';
import { DBA_PASSWORD, type PgFixture, startPgFixture } from '../harness/pg-fixture.js';
import { Tmux } from '../harness/ssh-fixture.js';

let fx: PgFixture;

beforeAll(async () => {
  fx = await startPgFixture();
  fx.grant('30m');
}, 120_000);

afterAll(async () => { await fx?.stop(); });


function client(): pg.Client {
  return new pg.Client({
    host: '127.0.0.1', port: fx.gw.ports.postgres, user: 'dba+orders-db', password: DBA_PASSWORD, database: 'orders',
    ssl: { ca: readFileSync(fx.gw.caFile, 'utf8'), servername: 'localhost' },
  });
}

describe('clients through Portcullis', () => {
  it('runs parameterized queries and named prepared statements with node-postgres', async () => {
    const c = client();
    await c.connect();
    try {
      await c.query('create table if not exists kv(k text primary key, v int)');
      await c.query('insert into kv values ($1, $2), ($3, $4)', ['a', 1, 'b', 2]);
      const r = await c.query({ name: 'get-kv', text: 'select v from kv where k = $1', values: ['b'] });
      expect(r.rows).toEqual([{ v: 2 }]);
      const again = await c.query({ name: 'get-kv', text: 'select v from kv where k = $1', values: ['a'] });
      expect(again.rows).toEqual([{ v: 1 }]);
      await expect(c.query('select $1::int / 0', [5])).rejects.toThrow(/division by zero/);
      expect((await c.query('select 1 as ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await c.end();
    }
    await waitFor('statement records', () => fx.statements().some((s) => s.sql === 'select 1 as ok'), 5000);
    const recs = fx.statements();
    expect(recs).toEqual(expect.arrayContaining([
      expect.objectContaining({ v: 1, protocol: 'postgres', sql: 'insert into kv values ($1, $2), ($3, $4)', path: 'extended', params: ['a', '1', 'b', '2'], rows_affected: 2, rows_returned: null }),
      expect.objectContaining({ sql: 'select v from kv where k = $1', statement: 'get-kv', params: ['b'], rows_returned: 1, rows_affected: null }),
      expect.objectContaining({ sql: 'select v from kv where k = $1', statement: 'get-kv', params: ['a'], rows_returned: 1, rows_affected: null }),
      expect.objectContaining({ sql: 'select $1::int / 0', params: ['5'], error: { sqlstate: '22012', code: null, message: 'division by zero' } }),
    ]));
  });

  it('runs pgbench in simple, extended and prepared mode with no failed transactions', () => {
    const pgbench = requireBinary('postgresql-15', '/usr/lib/postgresql/15/bin/pgbench', 'pgbench');
    const env = { ...process.env, PGPASSWORD: DBA_PASSWORD, PGSSLMODE: 'require' };
    const common = ['-h', '127.0.0.1', '-p', String(fx.gw.ports.postgres), '-U', 'dba+orders-db'];
    const init = run(pgbench, ['-i', '-s', '1', ...common, 'orders'], { env });
    expect(init.status, init.stderr).toBe(0);
    for (const mode of ['simple', 'extended', 'prepared']) {
      const r = run(pgbench, ['-M', mode, '-c', '4', '-j', '2', '-T', '3', ...common, 'orders'], { env });
      expect(r.status, `${mode}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/number of failed transactions: 0 \(0\.000%\)/);
      expect(r.stdout).toMatch(/number of transactions actually processed: [1-9]\d*/);
    }
    // Prepared mode sends the SQL once per connection; every execution is still recorded with it.
    const prepared = fx.statements().filter((s) => s.path === 'extended' && s.sql.includes('UPDATE pgbench_accounts SET abalance'));
    expect(prepared.length).toBeGreaterThan(10);
    expect(prepared.filter((s) => s.params?.length !== 2)).toEqual([]);
  }, 60_000);

  it('cancels a long query with Ctrl-C in psql', async () => {
    const t = Tmux.start(`env PGPASSWORD=${DBA_PASSWORD} psql -X "${fx.conninfo()}"`);
    try {
      await t.waitFor(/orders=>/);
      const t0 = Date.now();
      t.send('select pg_sleep(30);');
      await new Promise((r) => setTimeout(r, 1000));
      t.key('C-c');
      await t.waitFor(/canceling statement due to user request/, 10_000);
      expect(Date.now() - t0).toBeLessThan(10_000);
      t.send('\\q');
    } finally {
      t.kill();
    }
  });
});
