// A rule added with the CLI is enforced at once by a real gateway on real clients: psql started
// afterwards is denied with SQLSTATE 42501 and the rule's message (the table survives), and after
// `rule remove` the same statement runs. A node-postgres session already open when a rule is added
// (with another SQL rule in place, so it is framed) is held to the new rule on its next statement,
// and released on removal, without waiting for the periodic reload. The CLI is its main() in process
// (a spawned one costs ~1 s of CPU; cli-rules proves the spawned binary).
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminIn } from '../harness/cli-in-process.js';
import { DBA_PASSWORD, type PgFixture, startPgFixture } from '../harness/pg-fixture.js';

let fx: PgFixture;

beforeAll(async () => {
  fx = await startPgFixture();
  fx.grant('30m');
  const r = fx.psql(['-c', 'create table orders(id int primary key, total int); create table scratch(id int); insert into orders values (1, 10), (2, 20)']);
  if (r.status !== 0) throw new Error(r.stderr);
}, 120_000);

afterAll(async () => { await fx?.stop(); });

const addRule = async (args: string[]): Promise<void> => {
  const r = await adminIn(fx.gw, ['rule', 'add', ...args]);
  expect(r.code, r.stderr).toBe(0);
};

describe('rules from the CLI on live PostgreSQL sessions', () => {
  it('denies DROP TABLE with 42501 and the message on a psql session started after rule add, and allows it after rule remove', async () => {
    await addRule(['no-drop-orders', '--kind', 'sql', '--match', 'drop\\s+table\\s+orders', '--action', 'deny', '--targets', 'orders-db', '--message', 'dropping orders needs a change ticket']);
    const denied = fx.psql(['-c', '\\set VERBOSITY verbose', '-c', 'drop table orders']);
    expect(denied.status).not.toBe(0);
    expect(denied.stderr).toMatch(/ERROR:\s+42501: Portcullis: dropping orders needs a change ticket/);
    // The session goes on after a denial: the next statement in the same session runs.
    const goesOn = fx.psql(['-v', 'ON_ERROR_STOP=0', '-tA'], { input: 'drop table orders;\nselect count(*) from orders;\n' });
    expect(goesOn.stderr).toMatch(/Portcullis: dropping orders needs a change ticket/);
    expect(goesOn.stdout.trim()).toBe('2');
    expect(fx.pg.sql('select count(*) from orders', 'orders').trim()).toBe('2');
    expect((await adminIn(fx.gw, ['rule', 'remove', 'no-drop-orders'])).code).toBe(0);
    const allowed = fx.psql(['-c', 'drop table scratch']);
    expect(allowed.status, allowed.stderr).toBe(0);
  });

  it('holds a session that is already running to a rule added mid-session, and releases it on removal', async () => {
    // A first SQL rule before the session starts: the session frames statements (no pass-through).
    await addRule(['flag-truncate', '--kind', 'sql', '--match', '^\\s*truncate', '--action', 'flag']);
    const c = new pg.Client({
      host: '127.0.0.1', port: fx.gw.ports.postgres, user: 'dba+orders-db', password: DBA_PASSWORD, database: 'orders',
      ssl: { ca: readFileSync(fx.gw.caFile, 'utf8'), servername: 'localhost' },
    });
    await c.connect();
    try {
      expect((await c.query('select total from orders where id = 1')).rows).toEqual([{ total: 10 }]);
      await addRule(['no-updates', '--kind', 'sql', '--match', '^\\s*update\\b', '--action', 'deny', '--message', 'read only today']);
      // Right after the CLI returns: the adding node enforces before it answers.
      const err = await c.query('update orders set total = 0').then(() => null, (e: unknown) => e as { code?: string; message?: string });
      expect(err).toMatchObject({ code: '42501', message: 'Portcullis: read only today' });
      expect((await c.query('select total from orders where id = 1')).rows).toEqual([{ total: 10 }]);
      expect((await adminIn(fx.gw, ['rule', 'remove', 'no-updates'])).code).toBe(0);
      await c.query('update orders set total = 11 where id = 1');
      expect((await c.query('select total from orders where id = 1')).rows).toEqual([{ total: 11 }]);
    } finally {
      await c.end();
    }
    expect((await adminIn(fx.gw, ['rule', 'remove', 'flag-truncate'])).code).toBe(0);
  });
});
