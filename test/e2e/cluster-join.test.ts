// Two real `portcullis` nodes on one real PostgreSQL 15 store (DESIGN.md 3c): `init --store` on
// node 1 makes the cluster, node 2's init joins with the copied master.key; both serve with --node
// and answer for the same cluster (a target added on one is listed by the other, one audit chain
// that verifies from either). Refusals, each with its sentence: a node with another master key, a
// second serve with a --node name already running, a store URL to a closed port (no password in
// the message), a cluster data dir served without --store.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type Proc, requireBinary, run as runPeer, startProc, tempDir, waitFor } from '../harness/common.js';
import { BIN, type CliResult, cli, json } from '../harness/gateway.js';
import { type PostgresPeer, startPostgres } from '../harness/postgres.js';
import { tlsCaArgs } from '../harness/test-ca.js';

const STORE_PASSWORD = 'Store-Pw-7x';
const DB_PASSWORD = 'Db-Vaulted-Canary-42';
const DBA_PASSWORD = 'dba-Password-1';
let pg: PostgresPeer;
let dir: string;
let store: string;
const procs: Proc[] = [];

const dataDir = (n: string): string => join(dir, n);
const baseEnv = (): NodeJS.ProcessEnv => ({ PORTCULLIS_HOME: join(dir, 'home'), PORTCULLIS_DATA: '', PORTCULLIS_STORE: '', PORTCULLIS_NODE: '', PORTCULLIS_MASTER_KEY: '' });
const run = (args: string[], env: NodeJS.ProcessEnv = {}): CliResult => cli(args, { env: { ...baseEnv(), ...env } });
const must = (r: CliResult): CliResult => {
  expect(r.code, r.stderr).toBe(0);
  return r;
};

/** serve on node's data dir, as `name` (the node's own name unless told). */
function serve(node: string, extra: string[] = [], name = node): Proc {
  const env = {
    ...process.env, ...baseEnv(), PORTCULLIS_LOG_LEVEL: 'info', PORTCULLIS_HTTP_PORT: '0', PORTCULLIS_SSH_PORT: '0', PORTCULLIS_POSTGRES_PORT: '0', PORTCULLIS_MYSQL_PORT: '0',
    PORTCULLIS_RECORDINGS_DIR: join(dir, 'recordings'),
  };
  const p = startProc(process.execPath, [BIN, 'serve', '--data', dataDir(node), '--store', store, '--node', name, ...extra], { env });
  procs.push(p);
  return p;
}

async function serveUp(node: string): Promise<Proc> {
  const p = serve(node);
  await waitFor(`serve ${node}`, () => existsSync(join(dataDir(node), 'serve.json')), 40_000, p);
  return p;
}

function exited(p: Proc, ms: number): Promise<number | null> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null) return resolve(p.child.exitCode);
    const t = setTimeout(() => resolve(null), ms);
    p.child.once('exit', (code) => { clearTimeout(t); resolve(code); });
  });
}

beforeAll(async () => {
  pg = await startPostgres();
  dir = tempDir('cluster-join');
  pg.sql(`CREATE ROLE pcstore LOGIN PASSWORD '${STORE_PASSWORD}'`);
  pg.sql('CREATE DATABASE portcullis OWNER pcstore');
  store = `postgres://pcstore:${STORE_PASSWORD}@127.0.0.1:${pg.port}/portcullis`;
}, 60_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await pg?.stop();
});

describe('two nodes on one PostgreSQL store', () => {
  let n1: Proc;
  let n2: Proc;

  it('inits the first node, lets a second join with the copied master key, and serves both on one cluster', async () => {
    const first = must(run(['init', '--data', dataDir('n1'), '--store', store]));
    expect(first.stdout).toContain('the first node of a new cluster on postgres://pcstore@127.0.0.1');
    expect(first.stdout + first.stderr).not.toContain(STORE_PASSWORD);
    mkdirSync(dataDir('n2'), { mode: 0o700 });
    copyFileSync(join(dataDir('n1'), 'master.key'), join(dataDir('n2'), 'master.key'));
    const second = must(run(['init', '--data', dataDir('n2'), '--store', store]));
    expect(second.stdout).toContain('joined the cluster');
    expect(readFileSync(join(dataDir('n2'), 'certs/ca.crt'), 'utf8')).toBe(readFileSync(join(dataDir('n1'), 'certs/ca.crt'), 'utf8'));
    expect(readFileSync(join(dataDir('n2'), 'ssh_host_ed25519_key.pub'), 'utf8')).toBe(readFileSync(join(dataDir('n1'), 'ssh_host_ed25519_key.pub'), 'utf8'));

    [n1, n2] = await Promise.all([serveUp('n1'), serveUp('n2')]);
    must(run(['target', 'add', 'web01', '--kind', 'ssh', '--host', '127.0.0.1', '--port', '22', '--account', 'ops', '--password-stdin',
      '--host-key', `SHA256:${'A'.repeat(43)}`, '--data', dataDir('n1')]));
    const onTwo = json<Array<{ name: string }>>(run(['target', 'list', '--json', '--data', dataDir('n2')]));
    expect(onTwo.map((t) => t.name)).toEqual(['web01']);
    must(run(['user', 'add', 'alice', '--role', 'ops', '--data', dataDir('n2')]));
    const onOne = json<Array<{ name: string }>>(run(['user', 'list', '--json', '--data', dataDir('n1')]));
    expect(onOne.map((u) => u.name).sort()).toEqual(['admin', 'alice']);
    // One chain, appended by both nodes, verifies from either.
    for (const n of ['n1', 'n2']) expect(json<{ ok: boolean }>(run(['audit', 'verify', '--json', '--data', dataDir(n)])).ok).toBe(true);
    expect(n1.output() + n2.output()).not.toContain(STORE_PASSWORD);
  }, 120_000);

  it('records a session of node 2 in the shared recordings dir, readable from node 1, its record naming node and relative path', async () => {
    pg.sql(`CREATE ROLE app LOGIN PASSWORD '${DB_PASSWORD}'`);
    pg.sql('CREATE DATABASE orders OWNER app');
    must(cli(['user', 'add', 'dba', '--role', 'dba', '--password-stdin', '--data', dataDir('n1')], { env: baseEnv(), stdin: `${DBA_PASSWORD}\n` }));
    must(cli(['target', 'add', 'orders-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(pg.port), '--account', 'app', '--database', 'orders',
      ...tlsCaArgs(), '--password-stdin', '--data', dataDir('n1')], { env: baseEnv(), stdin: `${DB_PASSWORD}\n` }));
    must(run(['grant', 'add', '--user', 'dba', '--target', 'orders-db', '--for', '30m', '--reason', 'cluster test', '--data', dataDir('n2')]));
    const port = (JSON.parse(readFileSync(join(dataDir('n2'), 'serve.json'), 'utf8')) as { ports: { postgres: number } }).ports.postgres;
    const psql = runPeer(requireBinary('postgresql-client-15', 'psql'), ['-X', '-tA', '-c', "select 'through-node-2'",
      `host=127.0.0.1 port=${port} user=dba+orders-db dbname=orders sslmode=require connect_timeout=10`], { env: { ...process.env, PGPASSWORD: DBA_PASSWORD } });
    expect(psql.status, psql.stderr).toBe(0);
    expect(psql.stdout.trim()).toBe('through-node-2');
    const rows = pg.sql('SELECT id, node, recording FROM sessions', 'portcullis').trim().split('\n');
    expect(rows).toHaveLength(1);
    const [id, node, recording] = rows[0]!.split('|');
    expect(node).toBe('n2');
    // Relative to the recordings root: valid on every node whatever its mount point.
    expect(recording).toBe(id);
    // Created at the sink's first flush or at the recording's close, which follows node 2's store writes.
    await waitFor('the statement log', () => existsSync(join(dir, 'recordings', id!, 'statements.ndjson')), 10_000);
    const shown = json<{ node?: string; recording: Array<{ file: string }> }>(run(['session', 'show', id!, '--json', '--data', dataDir('n1')]));
    expect(shown.recording.map((f) => f.file)).toContain('statements.ndjson');
  }, 60_000);

  it('lists the nodes from either node', () => {
    for (const [asked, other] of [['n2', 'n1'], ['n1', 'n2']] as const) {
      const nodes = json<Array<{ name: string; state: string; self: boolean; version: string; heartbeat_age_s: number }>>(run(['node', 'list', '--json', '--data', dataDir(asked)]));
      expect(nodes.map((n) => [n.name, n.state, n.self])).toEqual([[asked, 'up', true], [other, 'up', false]].sort());
      for (const n of nodes) {
        expect(n.version).toMatch(/^\d+\.\d+\.\d+/);
        expect(n.heartbeat_age_s).toBeLessThan(6);
      }
    }
    const table = must(run(['node', 'list', '--data', dataDir('n1')])).stdout;
    expect(table).toMatch(/^NAME\s+STATE\s+VERSION\s+LAST_HEARTBEAT/);
    expect(table).toMatch(/\nn1 \*\s+up\s/);
  });

  it('refuses a second serve with a --node name that is already running', async () => {
    mkdirSync(dataDir('n1b'), { mode: 0o700 });
    copyFileSync(join(dataDir('n1'), 'master.key'), join(dataDir('n1b'), 'master.key'));
    must(run(['init', '--data', dataDir('n1b'), '--store', store]));
    const dup = serve('n1b', [], 'n1');
    expect(await exited(dup, 30_000)).not.toBe(0);
    expect(dup.output()).toMatch(/node n1 is already running/);
  }, 60_000);

  it('refuses a node whose master key is not the cluster\'s, at init and at serve', async () => {
    const other = { PORTCULLIS_MASTER_KEY: Buffer.alloc(32, 3).toString('base64') };
    const r = run(['init', '--data', dataDir('n3'), '--store', store], other);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("this node's master key is not the cluster's: copy master.key from the first node's data dir, or set PORTCULLIS_MASTER_KEY");
    const none = run(['init', '--data', dataDir('n4'), '--store', store]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/the store already holds a cluster: copy master.key from the first node's data dir/);
    // A joined node started later with another key.
    const p = startProc(process.execPath, [BIN, 'serve', '--data', dataDir('n2'), '--store', store, '--node', 'n2x'],
      { env: { ...process.env, ...baseEnv(), ...other, PORTCULLIS_HTTP_PORT: '0', PORTCULLIS_SSH_PORT: '0', PORTCULLIS_POSTGRES_PORT: '0', PORTCULLIS_MYSQL_PORT: '0' } });
    procs.push(p);
    expect(await exited(p, 30_000)).toBe(1);
    expect(p.output()).toContain("this node's master key is not the cluster's");
  }, 60_000);

  it('exits non-zero with one clear sentence when the store is not reachable, never showing its password', async () => {
    const closed = await freePort();
    const url = `postgres://pcstore:${STORE_PASSWORD}@127.0.0.1:${closed}/portcullis`;
    const t0 = Date.now();
    const r = run(['serve', '--data', dataDir('n1'), '--store', url, '--node', 'n9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`portcullis: cannot reach the store at postgres://pcstore@127.0.0.1:${closed}/portcullis: `);
    expect(r.stderr).not.toContain(STORE_PASSWORD);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(Date.now() - t0).toBeLessThan(20_000);
    const i = run(['init', '--data', dataDir('n5'), '--store', url]);
    expect(i.code).toBe(1);
    expect(i.stderr).toContain('cannot reach the store at');
    expect(i.stderr).not.toContain(STORE_PASSWORD);
  }, 60_000);

  it('refuses a master key rotation on a cluster (every node shares the key)', () => {
    const r = run(['vault', 'rotate-key', '--data', dataDir('n1')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('vault rotate-key is not supported on a cluster of several nodes yet');
    expect(existsSync(join(dataDir('n1'), 'master.key.new'))).toBe(false);
  });

  it('refuses to serve a cluster data dir without --store', () => {
    const r = run(['serve', '--data', dataDir('n2'), '--node', 'n2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('belongs to the cluster on postgres://pcstore@127.0.0.1');
  });
});
