// SQL rules on parse trees against a real PostgreSQL 15, rules added with `portcullis rule add`:
// psql's DROP TABLE denied with 42501 and the table still there; DELETE without WHERE denied while
// DELETE ... WHERE id = 1 runs; pg_terminate_backend denied through SQL (also spelled with a schema,
// U& escapes and a DO block) and through a FunctionCall message; psql's \lo_unlink (libpq's fastpath
// FunctionCall) denied by function:lo_unlink; node-postgres extended protocol (pipelined with Sync)
// and a named prepared statement denied; a 10 MB statement denied as unparsable at once; the
// session goes on after every denial.
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgMessage, PgFrameReader } from '../../gateway/postgres/wire/frames.js';
import { parseErrorFields } from '../../gateway/postgres/wire/server-messages.js';
import { DBA_PASSWORD, type PgFixture, startPgFixture } from '../harness/pg-fixture.js';

let fx: PgFixture;

const addRule = (args: string[]): void => {
  const r = fx.gw.admin(['rule', 'add', ...args]);
  if (r.code !== 0) throw new Error(r.stderr);
};

beforeAll(async () => {
  fx = await startPgFixture();
  fx.grant('30m');
  const r = fx.psql(['-c', 'create table orders(id int primary key, total int); insert into orders values (1, 10), (2, 20), (3, 30)']);
  if (r.status !== 0) throw new Error(r.stderr);
  addRule(['no-drop', '--kind', 'sql', '--class', 'drop', '--action', 'deny', '--message', 'no drops on orders-db']);
  addRule(['no-unbounded', '--kind', 'sql', '--class', 'unbounded-write', '--action', 'deny', '--message', 'add a WHERE']);
  addRule(['no-kill', '--kind', 'sql', '--class', 'function:pg_terminate_backend', '--action', 'deny', '--message', 'ask a DBA to end sessions']);
  addRule(['no-lo-unlink', '--kind', 'sql', '--class', 'function:lo_unlink', '--action', 'deny', '--message', 'large objects stay']);
}, 120_000);

afterAll(async () => { await fx?.stop(); });

const count = (): string => fx.pg.sql('select count(*) from orders', 'orders').trim();

const client = async (): Promise<pg.Client> => {
  const c = new pg.Client({
    host: '127.0.0.1', port: fx.gw.ports.postgres, user: 'dba+orders-db', password: DBA_PASSWORD, database: 'orders',
    ssl: { ca: readFileSync(fx.gw.caFile, 'utf8'), servername: 'localhost' },
  });
  await c.connect();
  return c;
};
const failure = (p: Promise<unknown>): Promise<{ code?: string; message?: string } | null> => p.then(() => null, (e: unknown) => e as { code?: string; message?: string });

describe('SQL rules with psql', () => {
  it('denies DROP TABLE with 42501 and the message; the table is still there and the session goes on', () => {
    const r = fx.psql(['-v', 'ON_ERROR_STOP=0', '-tA'], { input: '\\set VERBOSITY verbose\nDrOp /* hidden */ TABLE "orders";\nselect count(*) from orders;\n' });
    expect(r.stderr).toMatch(/ERROR:\s+42501: Portcullis: no drops on orders-db/);
    expect(r.stdout.trim()).toBe('3');
    expect(count()).toBe('3');
    // Hidden behind a first statement in one Query, and inside a function body.
    const multi = fx.psql(['-v', 'ON_ERROR_STOP=0', '-c', 'select 1; drop table orders']);
    expect(multi.stderr).toMatch(/Portcullis: no drops on orders-db/);
    const body = fx.psql(['-v', 'ON_ERROR_STOP=0', '-c', 'do $$ begin drop table orders; end $$']);
    expect(body.stderr).toMatch(/Portcullis: no drops on orders-db/);
    expect(count()).toBe('3');
  });

  it('denies DELETE without WHERE (and WHERE true) while DELETE ... WHERE id = 1 runs', () => {
    const r = fx.psql(['-v', 'ON_ERROR_STOP=0', '-tA'], { input: 'delete from orders;\ndelete from orders where true;\nwith x as (delete from orders returning 1) select count(*) from x;\ndelete from orders where id = 1;\nselect count(*) from orders;\n' });
    expect(r.stderr.match(/Portcullis: add a WHERE/g)).toHaveLength(3);
    expect(r.stdout).toMatch(/^DELETE 1\n2$/m);
    expect(count()).toBe('2');
  });

  it('denies pg_terminate_backend however it is spelled in SQL', () => {
    for (const sql of ['select pg_terminate_backend(999999)', 'select pg_catalog.PG_TERMINATE_BACKEND(999999)', 'select U&"pg_termin\\0061te_backend"(999999)',
      'do $$ begin perform pg_terminate_backend(999999); end $$', "select query_to_xml('select pg_terminate_backend(999999)', true, true, '')"]) {
      const r = fx.psql(['-v', 'ON_ERROR_STOP=0', '-c', sql, '-c', 'select 7']);
      expect(r.stderr, sql).toMatch(/Portcullis: ask a DBA to end sessions/);
      expect(r.stdout, sql).toMatch(/\s7\n/);
    }
  });

  it("denies psql's \\lo_unlink (a real client's FunctionCall) by function:lo_unlink, and \\lo_import still runs", () => {
    const imp = fx.psql(['-c', '\\lo_import /etc/hostname']);
    expect(imp.status, imp.stderr).toBe(0);
    const oid = /lo_import (\d+)/.exec(imp.stdout)?.[1];
    expect(oid).toBeDefined();
    const r = fx.psql(['-v', 'ON_ERROR_STOP=0', '-c', `\\lo_unlink ${oid}`, '-c', 'select 8']);
    expect(r.stderr).toMatch(/Portcullis: large objects stay/);
    expect(r.stdout).toMatch(/\s8\n/);
    expect(fx.pg.sql(`select count(*) from pg_largeobject_metadata where oid = ${oid}`, 'orders').trim()).toBe('1');
  });
});

describe('SQL rules with node-postgres', () => {
  it('denies on the extended protocol (unnamed and named prepared statements) and the session goes on', async () => {
    const c = await client();
    try {
      expect(await failure(c.query('delete from orders where $1::int = $1::int', [1]))).toMatchObject({ code: '42501', message: 'Portcullis: add a WHERE' });
      expect((await c.query('select count(*)::int as n from orders where id > $1', [0])).rows).toEqual([{ n: 2 }]);
      expect(await failure(c.query({ name: 'kill', text: 'select pg_terminate_backend($1)', values: [999999] }))).toMatchObject({ code: '42501' });
      // Pipelined: a denied Parse and an allowed statement in the same round trip (each with its Sync).
      const [a, b] = await Promise.all([failure(c.query('drop table orders')), c.query('select count(*)::int as n from orders')]);
      expect(a).toMatchObject({ code: '42501', message: 'Portcullis: no drops on orders-db' });
      expect(b.rows).toEqual([{ n: 2 }]);
      await c.query({ name: 'one', text: 'update orders set total = total + 1 where id = $1', values: [2] });
      await c.query({ name: 'one', text: 'update orders set total = total + 1 where id = $1', values: [2] });
      expect((await c.query('select total from orders where id = 2')).rows).toEqual([{ total: 22 }]);
    } finally {
      await c.end();
    }
    expect(count()).toBe('2');
  });

  it('a named prepared statement that ran before a deny rule was added is refused at its next run', async () => {
    const c = await client();
    const probe = await client();
    try {
      await c.query('create table scratch(id int)');
      const ins = { name: 'ins', text: 'insert into scratch values ($1)', values: [1] };
      await c.query(ins);
      addRule(['no-scratch', '--kind', 'sql', '--match', 'insert into scratch', '--action', 'deny', '--message', 'scratch is frozen']);
      // Another session sees the rule once the book has it (no side effect: the text is a string).
      for (let i = 0; i < 50 && (await failure(probe.query("select 'insert into scratch'"))) === null; i++) await new Promise((r) => setTimeout(r, 100));
      // node-postgres sends only Bind and Execute for a name it prepared: the gate reads the text again.
      expect(await failure(c.query({ ...ins, values: [2] }))).toMatchObject({ code: '42501', message: 'Portcullis: scratch is frozen' });
      expect((await c.query('select count(*)::int as n from scratch')).rows).toEqual([{ n: 1 }]);
    } finally {
      fx.gw.admin(['rule', 'remove', 'no-scratch']);
      await c.end();
      await probe.end();
    }
  });

  it('denies a 10 MB statement as unparsable without parsing it, at once, and the session goes on', async () => {
    const c = await client();
    try {
      const t0 = Date.now();
      const err = await failure(c.query(`select length('${'x'.repeat(10_000_000)}') -- drop`));
      expect(err).toMatchObject({ code: '42501', message: 'Portcullis: no drops on orders-db' });
      expect(Date.now() - t0).toBeLessThan(5000);
      // Without a word any class rule needs, a long statement is not parsed and runs.
      expect((await c.query(`select length('${'y'.repeat(1_000_000)}') as n`)).rows).toEqual([{ n: 1_000_000 }]);
    } finally {
      await c.end();
    }
  });

  it('denies a FunctionCall message of pg_terminate_backend (OID 2096) and the session goes on', async () => {
    const c = await client();
    c.on('error', () => {});
    const stream = (c as unknown as { connection: { stream: Duplex } }).connection.stream;
    stream.removeAllListeners('data');
    const got: PgMessage[] = [];
    const frames = new PgFrameReader((m) => got.push(m));
    stream.on('data', (d: Buffer) => frames.push(d));
    const int16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; };
    const int32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
    const msg = (type: string, ...body: Buffer[]): Buffer => { const b = Buffer.concat(body); return Buffer.concat([Buffer.from(type), int32(b.length + 4), b]); };
    const arg = (v: string): Buffer => Buffer.concat([int32(Buffer.byteLength(v)), Buffer.from(v)]);
    const ready = async (n: number): Promise<void> => {
      const t0 = Date.now();
      while (got.filter((m) => m.type === 'Z').length < n && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    };
    stream.write(msg('F', int32(2096), int16(0), int16(2), arg('999999'), arg('0'), int16(0)));
    await ready(1);
    const err = got.find((m) => m.type === 'E');
    expect(err && parseErrorFields(err.head)).toMatchObject({ C: '42501', M: 'Portcullis: ask a DBA to end sessions' });
    stream.write(msg('Q', Buffer.from('select 9\0')));
    await ready(2);
    expect(got.map((m) => m.type).join('')).toMatch(/^EZ.*TDCZ$/);
    stream.end();
  });
});
