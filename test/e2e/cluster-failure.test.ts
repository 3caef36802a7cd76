// Node failure and faults with real clients through three real nodes on a real PostgreSQL 15 store
// (test/harness/cluster.ts, HAProxy in front), to a real PostgreSQL target and a real sshd:
//   - kill -9 of n2 with live psql and ssh sessions on n1, n2 and n3: n2's are ended node-lost
//     within 10 s (listed so by n1, audited node.lost, alerted by webhook), the others go on, what
//     was typed on n2 up to a second before the kill is readable from n1, and the clients get back in
//     through HAProxy with the same grants;
//   - n2 restarted right after a crash takes over its dead predecessor at once (no wait for
//     nodeLostAfter); a second serve on a running node's data dir is still refused;
//   - the store stopped mid-run: a new login is refused in clear words, live sessions go on and are
//     cut on time at their grant's expiry, and logins work again once the store is back, with no
//     restart and nobody marked lost;
//   - refusals: another master key, a node name already running, a store schema newer than the build;
//   - at the end `audit verify` passes on every node.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, requireBinary, run, runOk, startProc, tempDir, waitFor, type Proc } from '../harness/common.js';
import { type Cluster, type ClusterNode, startCluster } from '../harness/cluster.js';
import { BIN, cli, json } from '../harness/gateway.js';
import { PipedClient } from '../harness/piped-client.js';
import { type PostgresPeer, startPostgres } from '../harness/postgres.js';
import { type SshdPeer, startSshd } from '../harness/sshd.js';
import { tlsCaArgs } from '../harness/test-ca.js';
import type { SessionDetail, SessionView } from '../../gateway/api-types.js';

const DB_PASSWORD = 'Db-Vaulted-Canary-42';
const DBA_PASSWORD = 'dba-Password-1';
const PSQL = requireBinary('postgresql-client-15', 'psql');
const SSH = requireBinary('openssh-client', 'ssh');

let c: Cluster;
let target: PostgresPeer;
let sshd: SshdPeer;
let receiver: Server;
let dir: string;
let opsKey: string;
const hooks: Array<{ event: string; data: Record<string, unknown> }> = [];
const clients: Array<{ kill(): void }> = [];
const procs: Proc[] = [];

const must = (r: { code: number; stderr: string; stdout: string }): string => {
  expect(r.code, r.stderr || r.stdout).toBe(0);
  return r.stdout;
};
const n = (name: string): ClusterNode => c.node(name);
const sessions = (via = 'n1'): SessionView[] => json<SessionView[]>(n(via).admin(['session', 'list', '--json']));
const grant = (user: string, tgt: string, dur: string): string => json<{ id: string }>(n('n1').admin(['grant', 'add', '--user', user, '--target', tgt, '--for', dur, '--reason', 'failure test', '--json'])).id;
const auditCodes = (via = 'n1'): string[] => json<Array<{ code: string }>>(n(via).admin(['audit', 'list', '--limit', '100000', '--json'])).map((e) => e.code);
/** Names of the nodes the store lists as up (the answering node is marked with " *" in the listing). */
const upNodes = (): string[] => json<Array<{ name: string; state: string }>>(n('n1').admin(['node', 'list', '--json']))
  .filter((x) => x.state === 'up').map((x) => x.name.replace(/ \*$/, '')).sort();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function conninfo(port: number, tgt = 'orders-db'): string {
  return `host=127.0.0.1 port=${port} user=dba+${tgt} dbname=orders sslmode=require connect_timeout=10`;
}

/** psql kept open with its stdin as a pipe: a live session the test types into. */
function psqlClient(port: number, tgt = 'orders-db'): PipedClient {
  const p = new PipedClient(PSQL, ['-X', '-At', conninfo(port, tgt)], { PGPASSWORD: DBA_PASSWORD }, 110_000);
  clients.push(p);
  return p;
}

/** One-shot psql; returns status and output. */
function psqlOnce(port: number, sql: string, tgt = 'orders-db'): { status: number; stdout: string; stderr: string } {
  return run(PSQL, ['-X', '-At', '-c', sql, conninfo(port, tgt)], { env: { ...process.env, PGPASSWORD: DBA_PASSWORD } });
}

/** ssh running a line echo on the target, its stdin a pipe (no pty): a live session the test types into. */
class SshClient {
  out = '';
  readonly exited: Promise<number>;
  private readonly child: ChildProcessWithoutNullStreams;
  constructor(port: number, login: string) {
    this.child = spawn(SSH, ['-p', String(port), '-i', opsKey, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
      '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10', `${login}@127.0.0.1`, 'while read l; do echo "got:$l"; done']);
    this.child.stdout.on('data', (d: Buffer) => { this.out += d.toString(); });
    this.child.stderr.on('data', (d: Buffer) => { this.out += d.toString(); });
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code ?? -1)));
    const t = setTimeout(() => this.child.kill('SIGKILL'), 110_000);
    void this.exited.then(() => clearTimeout(t));
    clients.push(this);
  }
  type(line: string): void { this.child.stdin.write(line + '\n'); }
  kill(): void { this.child.kill('SIGKILL'); }
  async echo(word: string, ms = 15_000): Promise<void> {
    this.type(word);
    await waitFor(`ssh to echo ${word}`, () => this.out.includes(`got:${word}`), ms).catch(() => { throw new Error(`ssh never echoed ${word}; it shows:\n${this.out}`); });
  }
}

async function selectThrough(p: PipedClient, word: string): Promise<void> {
  p.type(`select '${word}';`);
  await p.waitFor(new RegExp(`^${word}$`, 'm'), 15_000);
}

/** Whether a process has exited within `ms`; its exit code, or null while it still runs. */
function exited(p: Proc, ms: number): Promise<number | null> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null) return resolve(p.child.exitCode);
    const t = setTimeout(() => resolve(null), ms);
    p.child.once('exit', (code) => { clearTimeout(t); resolve(code); });
  });
}

/** `portcullis serve` on a data dir with the cluster's environment (ports the kernel picks); not waited for. */
function serveProc(dataDir: string, node: string, env: NodeJS.ProcessEnv = {}): Proc {
  const p = startProc(process.execPath, [BIN, 'serve', '--data', dataDir, '--node', node], {
    env: { ...process.env, ...c.env, PORTCULLIS_NODE: node, PORTCULLIS_HTTP_PORT: '0', PORTCULLIS_SSH_PORT: '0', PORTCULLIS_POSTGRES_PORT: '0', PORTCULLIS_MYSQL_PORT: '0', ...env },
  });
  procs.push(p);
  return p;
}

beforeAll(async () => {
  dir = tempDir('cluster-failure');
  const port = await freePort();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      try { hooks.push(JSON.parse(body) as (typeof hooks)[number]); } catch { /* not ours */ }
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(port, '127.0.0.1', r));
  [c, target, sshd] = await Promise.all([
    startCluster({ haproxy: true, env: { PORTCULLIS_WEBHOOK_URL: `http://127.0.0.1:${port}/hook`, PORTCULLIS_LOG_LEVEL: 'info' }, logDir: process.env.E2E_CLUSTER_LOGS }),
    startPostgres(), startSshd(),
  ]);
  target.sql(`CREATE ROLE app LOGIN PASSWORD '${DB_PASSWORD}'`);
  target.sql('CREATE DATABASE orders OWNER app');
  opsKey = join(dir, 'ops_ed25519');
  runOk(requireBinary('openssh-client', 'ssh-keygen'), ['-q', '-t', 'ed25519', '-N', '', '-f', opsKey]);
  const n1 = n('n1');
  must(n1.admin(['user', 'add', 'dba', '--role', 'dba', '--password-stdin'], `${DBA_PASSWORD}\n`));
  must(n1.admin(['user', 'add', 'ops', '--role', 'ops', '--password-stdin', '--ssh-key', opsKey + '.pub'], 'ops-Password-1\n'));
  for (const t of ['orders-db', 'orders-db2']) {
    must(n1.admin(['target', 'add', t, '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(target.port), '--account', 'app',
      '--database', 'orders', ...tlsCaArgs(), '--password-stdin'], `${DB_PASSWORD}\n`));
  }
  for (const t of ['web01', 'web02']) {
    must(n1.admin(['target', 'add', t, '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(sshd.port), '--account', sshd.user,
      '--password-stdin', '--host-key', sshd.hostKeyFingerprint], `${sshd.password}\n`));
  }
  grant('dba', 'orders-db', '30m');
  grant('ops', 'web01', '30m');
}, 90_000);

afterAll(async () => {
  for (const k of clients) k.kill();
  await Promise.all(procs.map((p) => p.stop()));
  await c?.stop();
  await Promise.all([target?.stop(), sshd?.stop()]);
  receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a node killed with -9', () => {
  it('ends its sessions node-lost within 10 s (listed by n1, audited, alerted), spares the others, keeps what was typed, and lets its clients back in through HAProxy', async () => {
    const pg1 = psqlClient(n('n1').ports.postgres);
    const pg2 = psqlClient(n('n2').ports.postgres);
    const ssh2 = new SshClient(n('n2').ports.ssh, 'ops+web01');
    const ssh3 = new SshClient(n('n3').ports.ssh, 'ops+web01');
    await Promise.all([selectThrough(pg1, 'on-n1'), selectThrough(pg2, 'on-n2'), ssh2.echo('on-n2'), ssh3.echo('on-n3')]);
    const live = sessions().filter((s) => s.live);
    const onN2 = live.filter((s) => s.node === 'n2').map((s) => s.id);
    expect(onN2).toHaveLength(2);
    expect(live.filter((s) => s.node !== 'n2')).toHaveLength(2);
    // Typed, then a little over a second: the recorder writes within 500 ms, so it must survive the kill.
    await Promise.all([selectThrough(pg2, 'typed-before-kill'), ssh2.echo('typed-before-kill')]);
    await sleep(1200);
    const t0 = Date.now();
    await n('n2').crash();

    let lost: SessionView[] = [];
    await waitFor('n2 sessions ended node-lost', () => {
      lost = sessions().filter((s) => onN2.includes(s.id));
      return lost.length === 2 && lost.every((s) => !s.live && s.end_reason === 'node-lost');
    }, 20_000);
    // Timed by the sweeper's own booking (same host clock), not by when a CLI poll saw it.
    for (const s of lost) expect(Date.parse(s.ended_at!) - t0).toBeLessThan(10_000);
    expect(auditCodes().filter((x) => x === 'node.lost')).toHaveLength(1);
    await waitFor('the node.lost webhook', () => hooks.some((h) => h.event === 'node.lost'), 10_000);
    expect(hooks.find((h) => h.event === 'node.lost')?.data).toMatchObject({ node: 'n2', sessions: 2 });

    // The sessions on n1 and n3 go on.
    await selectThrough(pg1, 'n1-after-kill');
    await ssh3.echo('n3-after-kill');
    expect(sessions().filter((s) => s.live && s.node !== 'n2')).toHaveLength(2);

    // What was typed on n2 a second before the kill is readable from n1.
    for (const id of onN2) {
      const shown = json<SessionDetail>(n('n1').admin(['session', 'show', id, '--json']));
      if (shown.protocol === 'postgres') {
        const full = must(n('n1').admin(['session', 'show', id, '--full']));
        expect(full).toContain('typed-before-kill');
      } else {
        expect(must(n('n1').admin(['export', id]))).toContain('got:typed-before-kill');
      }
    }

    // Their clients were cut with the process; through HAProxy they get in again, same grants.
    await c.lb!.waitFor('n2', 'DOWN', 5000);
    for (let i = 0; i < 3; i++) {
      const again = psqlOnce(c.lb!.ports.postgres, `select 'back-${i}'`);
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout.trim()).toBe(`back-${i}`);
    }
    const back = new SshClient(c.lb!.ports.ssh, 'ops+web01');
    await back.echo('back-through-haproxy');
    back.kill();
  }, 60_000);

  it('comes back at once when restarted right after the crash, and a second serve on a running data dir is still refused', async () => {
    const n2 = n('n2');
    await n2.restart(); // its first run was found lost above: the name is free
    await c.lb!.waitFor('n2', 'UP', 10_000);
    const pg2 = psqlClient(n2.ports.postgres);
    await selectThrough(pg2, 'n2-again');
    const id = sessions().find((s) => s.live && s.node === 'n2')!.id;
    const t0 = Date.now();
    await n2.crash();
    await n2.restart();
    const took = Date.now() - t0;
    // Its own dead predecessor, taken over at start (not found lost by a peer after nodeLostAfter).
    expect(n2.log()).toContain('"msg":"cluster.predecessor_lost"');
    expect(n2.log()).not.toContain('is already running');
    expect(took).toBeLessThan(15_000);
    const ended = sessions().find((s) => s.id === id)!;
    expect(ended.live).toBe(false);
    expect(auditCodes().filter((x) => x === 'node.lost')).toHaveLength(1);
    expect(upNodes()).toEqual(['n1', 'n2', 'n3']);
    // A second process on n3's data dir while n3 runs: refused, n3 untouched.
    const dup = serveProc(n('n3').dataDir, 'n3');
    expect(await exited(dup, 30_000)).toBe(1);
    expect(dup.output()).toMatch(/node n3 is already running/);
    expect(n('n3').alive()).toBe(true);
    await c.lb!.waitFor('n2', 'UP', 10_000);
  }, 60_000);
});

describe('the store stopped mid-run', () => {
  it('refuses new logins in clear words, keeps live sessions until their grant expires on time, and serves again once it is back', async () => {
    const lostBefore = auditCodes().filter((x) => x === 'node.lost').length;
    const g1 = grant('dba', 'orders-db2', '20s');
    const g2 = grant('ops', 'web02', '20s');
    const expiresAt = Date.now() + 20_000;
    expect(g1 && g2).toBeTruthy();
    const pg = psqlClient(n('n1').ports.postgres, 'orders-db2');
    const ssh = new SshClient(n('n3').ports.ssh, 'ops+web02');
    await Promise.all([selectThrough(pg, 'before-outage'), ssh.echo('before-outage')]);
    await c.store.pg.stopFast();
    try {
      const refused = psqlOnce(n('n1').ports.postgres, 'select 1');
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain('Portcullis cannot reach its store; try again shortly');
      await Promise.all([selectThrough(pg, 'during-outage'), ssh.echo('during-outage')]);
      // Cut at the grant's expiry, from the deadline each node already knows: ssh exits; psql
      // (blocked reading its stdin) finds its connection closed at its next statement.
      const sshCode = await Promise.race([ssh.exited, sleep(expiresAt + 4000 - Date.now()).then(() => 'still running')]);
      expect(sshCode, ssh.out).not.toBe('still running');
      const sshCutAfter = Date.now() - expiresAt;
      expect(sshCutAfter).toBeGreaterThan(-1000);
      expect(sshCutAfter).toBeLessThan(4000);
      pg.type("select 'after-expiry';");
      expect(await Promise.race([pg.exited, sleep(5000).then(() => 'still running')]), pg.output).not.toBe('still running');
      expect(pg.output).not.toMatch(/^after-expiry$/m);
    } finally {
      await c.store.pg.start();
    }
    await waitFor('a login once the store is back', () => psqlOnce(n('n1').ports.postgres, 'select 1').status === 0, 15_000);
    for (const via of ['n2', 'n3']) expect(psqlOnce(n(via).ports.postgres, `select 'after-${via}'`).stdout.trim()).toBe(`after-${via}`);
    // Nobody was marked lost for the outage: every node is up and still the same process.
    await sleep(2500);
    expect(c.nodes.every((x) => x.alive())).toBe(true);
    expect(upNodes()).toEqual(['n1', 'n2', 'n3']);
    expect(auditCodes().filter((x) => x === 'node.lost')).toHaveLength(lostBefore);
    // Both ends were booked as the grant's expiry, at the deadline, once the store could take them.
    const ended = sessions().filter((s) => s.target === 'orders-db2' || s.target === 'web02');
    expect(ended.map((s) => [s.live, s.end_reason])).toEqual([[false, 'grant-expired'], [false, 'grant-expired']]);
  }, 70_000);
});

describe('nodes that may not join', () => {
  it('refuses another master key, a name already running, and a store schema newer than the build, each saying why', async () => {
    // A joined data dir of its own (n1's master key copied in), for the refusals below.
    const extra = join(dir, 'n9');
    mkdirSync(extra, { mode: 0o700 });
    copyFileSync(join(n('n1').dataDir, 'master.key'), join(extra, 'master.key'));
    must(cli(['init', '--data', extra], { env: { ...c.env, PORTCULLIS_NODE: 'n9' } }));
    expect(existsSync(join(extra, 'cluster.json'))).toBe(true);

    const otherKey = serveProc(extra, 'n9', { PORTCULLIS_MASTER_KEY: Buffer.alloc(32, 3).toString('base64') });
    const sameName = serveProc(extra, 'n1');
    const [k, s] = await Promise.all([exited(otherKey, 40_000), exited(sameName, 40_000)]);
    expect(k).toBe(1);
    expect(otherKey.output()).toContain("this node's master key is not the cluster's");
    expect(s).toBe(1);
    expect(sameName.output()).toMatch(/node n1 is already running \(last heartbeat \ds ago\); pick another --node name or stop it/);

    const version = c.store.sql('SELECT version FROM schema_version').trim();
    c.store.sql(`UPDATE schema_version SET version = ${Number(version) + 1}`);
    try {
      const newer = serveProc(extra, 'n9');
      expect(await exited(newer, 40_000)).toBe(1);
      expect(newer.output()).toContain(`the store's schema is version ${Number(version) + 1}, newer than this build's ${version}: upgrade portcullis before starting this node`);
    } finally {
      c.store.sql(`UPDATE schema_version SET version = ${version}`);
    }
    expect(c.nodes.every((x) => x.alive())).toBe(true);
  }, 60_000);

  it('leaves an audit chain that verifies on every node', () => {
    for (const x of c.nodes) expect(must(x.admin(['audit', 'verify']))).toMatch(/audit chain intact/);
  }, 30_000);
});
