// Rules across two real nodes on one PostgreSQL store: a rule added with the CLI on node 1 is
// enforced on a psql session through node 2 well before the 5 s periodic reload could have brought
// it (the cluster bus told node 2), and `rule remove` on node 2 lets the statement run on node 1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, run } from '../harness/common.js';
import { type Cluster, type ClusterNode, startCluster } from '../harness/cluster.js';
import { tlsCaArgs } from '../harness/test-ca.js';

const DB_PASSWORD = 'Db-Vaulted-Rules-9';
const DBA_PASSWORD = 'dba-Password-1';
const PSQL = requireBinary('postgresql-client-15', 'psql');
let c: Cluster;
const figures: string[] = [];

beforeAll(async () => {
  c = await startCluster({ nodes: 2 });
  c.store.sql(`CREATE ROLE app LOGIN PASSWORD '${DB_PASSWORD}'`);
  c.store.pg.sql('CREATE DATABASE orders OWNER app');
  const must = (r: { code: number; stderr: string }): void => { if (r.code !== 0) throw new Error(r.stderr); };
  const n1 = c.node('n1');
  must(n1.admin(['user', 'add', 'dba', '--role', 'dba', '--password-stdin'], `${DBA_PASSWORD}\n`));
  must(n1.admin(['target', 'add', 'orders-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(c.store.pg.port), '--account', 'app',
    '--database', 'orders', ...tlsCaArgs(), '--password-stdin'], `${DB_PASSWORD}\n`));
  must(n1.admin(['grant', 'add', '--user', 'dba', '--target', 'orders-db', '--for', '30m', '--reason', 'test']));
  const r = psql(n1, 'create table t1(id int); create table t2(id int)');
  if (r.status !== 0) throw new Error(r.stderr);
}, 180_000);

afterAll(async () => {
  if (figures.length) console.log(`cluster rules, measured:\n  ${figures.join('\n  ')}`);
  await c?.stop();
});

function psql(node: ClusterNode, sql: string): { status: number; stdout: string; stderr: string } {
  return run(PSQL, ['-X', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose',
    `host=127.0.0.1 port=${node.ports.postgres} user=dba+orders-db dbname=orders sslmode=require connect_timeout=10`, '-c', sql],
  { env: { ...process.env, PGPASSWORD: DBA_PASSWORD } });
}

/** Runs `sql` through `node` until `done` holds or `ms` pass; the time it took. */
async function until(node: ClusterNode, sql: string, done: (r: ReturnType<typeof psql>) => boolean, ms: number): Promise<{ r: ReturnType<typeof psql>; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const r = psql(node, sql);
    if (done(r) || Date.now() - t0 > ms) return { r, ms: Date.now() - t0 };
    await new Promise((res) => setTimeout(res, 100));
  }
}

describe('rules on two nodes', () => {
  it('a rule added on node 1 denies on node 2 at once, and its removal on node 2 lets node 1 run it', async () => {
    const add = c.node('n1').admin(['rule', 'add', 'no-drop', '--kind', 'sql', '--match', 'drop\\s+table', '--action', 'deny', '--message', 'no drops here']);
    expect(add.code, add.stderr).toBe(0);
    const denied = await until(c.node('n2'), 'drop table t1', (r) => r.status !== 0, 3000);
    expect(denied.r.stderr).toMatch(/ERROR:\s+42501: Portcullis: no drops here/);
    // Well under the 5 s periodic reload: node 2 heard of it on the bus.
    expect(denied.ms).toBeLessThan(2500);
    figures.push(`rule added on n1 enforced on n2 after ${denied.ms} ms (first psql after the CLI returned)`);
    expect(c.store.pg.sql("select count(*) from pg_tables where tablename = 't1'", 'orders').trim()).toBe('1');

    const rm = c.node('n2').admin(['rule', 'remove', 'no-drop']);
    expect(rm.code, rm.stderr).toBe(0);
    const ran = await until(c.node('n1'), 'drop table t2', (r) => r.status === 0, 3000);
    expect(ran.r.status, ran.r.stderr).toBe(0);
    expect(ran.ms).toBeLessThan(2500);
    figures.push(`rule removed on n2 released on n1 after ${ran.ms} ms`);
  });
});
