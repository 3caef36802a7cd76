// Silent targets (issue 13 item 11): a target that accepts TCP and never answers, or answers half a
// handshake (an SSH banner then silence, a MySQL greeting cut in the middle, no answer to a
// PostgreSQL startup or SSLRequest). Real clients (OpenSSH, psql, mariadb) get a clear error in
// their protocol's words within the connect timeout, the gateway drops its half-open leg, the
// session is booked as ended `upstream-failed`, and nothing else waits: a real psql session to a
// real PostgreSQL logs in and runs while every silent login is pending. The silent peers are a
// tiny TCP server in this file: the point is bytes no stock server sends.
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, runOk, tempDir, waitFor } from '../harness/common.js';
import { type GatewayPeer, startGateway } from '../harness/gateway.js';
import { type PostgresPeer, startPostgres } from '../harness/postgres.js';
import { tlsCaArgs } from '../harness/test-ca.js';

// 5 s: long enough that a real login through a loaded machine finishes well inside it.
const CONNECT_TIMEOUT_S = 5;
const USER = 'dba';
const PASSWORD = 'dba-Password-1';
const DB_PASSWORD = 'Db-Vaulted-Canary-11';

type Mode = 'silent' | 'ssh-banner' | 'mysql-half-greeting';

interface SilentPeer { port: number; closedAt: number[]; server: Server }

/** Accepts, says what `mode` says (or nothing), then never another byte; notes when the gateway hangs up. */
function silentPeer(mode: Mode): Promise<SilentPeer> {
  const closedAt: number[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    // Read (and ignore) what the gateway sends, so its hang-up is seen as EOF.
    s.resume();
    s.on('close', () => { closedAt.push(Date.now()); sockets.delete(s); });
    if (mode === 'ssh-banner') s.write('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n');
    if (mode === 'mysql-half-greeting') {
      // A packet header that promises 80 bytes, then the first 12 of a protocol-10 greeting.
      s.write(Buffer.concat([Buffer.from([80, 0, 0, 0]), Buffer.from([10]), Buffer.from('10.11.6-Ma')]));
    }
  });
  server.on('close', () => { for (const s of sockets) s.destroy(); });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    resolve({ port: typeof addr === 'object' && addr ? addr.port : 0, closedAt, server });
  }));
}

interface ClientResult { code: number; out: string; ms: number }

function runClient(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ClientResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, out, ms: Date.now() - t0 }); });
  });
}

let gw: GatewayPeer;
let pg: PostgresPeer;
let dir: string;
let key: string;
const peers = new Map<string, SilentPeer>();

const must = (r: { code: number; stderr: string; stdout: string }): string => {
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout;
};

beforeAll(async () => {
  [gw, pg] = await Promise.all([startGateway({ env: { PORTCULLIS_CONNECT_TIMEOUT: `${CONNECT_TIMEOUT_S}s` } }), startPostgres()]);
  dir = tempDir('silent');
  key = join(dir, 'id_ed25519');
  runOk(requireBinary('openssh-client', 'ssh-keygen'), ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  must(gw.admin(['user', 'add', USER, '--role', 'dba', '--password-stdin', '--ssh-key', `${key}.pub`], `${PASSWORD}\n`));
  pg.sql(`CREATE ROLE app LOGIN PASSWORD '${DB_PASSWORD}'`);
  pg.sql('CREATE DATABASE orders OWNER app');
  must(gw.admin(['target', 'add', 'orders-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(pg.port), '--account', 'app',
    '--database', 'orders', ...tlsCaArgs(), '--password-stdin'], `${DB_PASSWORD}\n`));
  const targets: Array<[string, 'ssh' | 'postgres' | 'mysql', Mode, string[]]> = [
    ['silent-ssh', 'ssh', 'silent', ['--host-key', `SHA256:${'A'.repeat(43)}`]],
    ['banner-ssh', 'ssh', 'ssh-banner', ['--host-key', `SHA256:${'A'.repeat(43)}`]],
    ['silent-pg', 'postgres', 'silent', ['--database', 'orders', '--tls', 'disable']],
    ['silent-pg-tls', 'postgres', 'silent', ['--database', 'orders', ...tlsCaArgs()]],
    ['silent-my', 'mysql', 'silent', tlsCaArgs()],
    ['half-my', 'mysql', 'mysql-half-greeting', tlsCaArgs()],
  ];
  for (const [name, kind, mode, extra] of targets) {
    const peer = await silentPeer(mode);
    peers.set(name, peer);
    must(gw.admin(['target', 'add', name, '--kind', kind, '--host', '127.0.0.1', '--port', String(peer.port), '--account', 'app',
      '--password-stdin', ...extra], 'vaulted-secret\n'));
  }
  for (const t of ['orders-db', ...peers.keys()]) {
    must(gw.admin(['grant', 'add', '--user', USER, '--target', t, '--for', '30m', '--reason', 'test']));
  }
}, 120_000);

afterAll(async () => {
  for (const p of peers.values()) p.server.close();
  await Promise.all([gw?.stop(), pg?.stop()]);
});

const ssh = (target: string): Promise<ClientResult> => runClient('ssh', [
  '-p', String(gw.ports.ssh), '-i', key, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
  '-o', 'LogLevel=ERROR', `${USER}+${target}@127.0.0.1`, 'true',
]);
const psql = (target: string, sql = 'select 1'): Promise<ClientResult> => runClient('psql', [
  '-X', `host=127.0.0.1 port=${gw.ports.postgres} user=${USER}+${target} dbname=orders sslmode=require connect_timeout=30`, '-c', sql,
], { PGPASSWORD: PASSWORD });
const mariadb = (target: string): Promise<ClientResult> => runClient('mariadb', [
  '--no-defaults', '-h', '127.0.0.1', '-P', String(gw.ports.mysql), '-u', `${USER}+${target}`, `-p${PASSWORD}`, '--ssl', '--connect-timeout=30', '-e', 'select 1',
]);

interface SessionRow { id: string; target: string; end_reason: string | null; started_at: string; ended_at: string | null }

describe('silent targets', () => {
  it('each client gets a clear error in its protocol within the connect timeout, the half-open leg is dropped, and a real session meanwhile is not held up', async () => {
    const started = Date.now();
    const silent = {
      'silent-ssh': ssh('silent-ssh'), 'banner-ssh': ssh('banner-ssh'), 'silent-pg': psql('silent-pg'), 'silent-pg-tls': psql('silent-pg-tls'),
      'silent-my': mariadb('silent-my'), 'half-my': mariadb('half-my'),
    };
    const settled: string[] = [];
    for (const [k, p] of Object.entries(silent)) void p.then(() => settled.push(k));
    // While every one of those waits on its silent target: a real login and statement on a real target.
    await new Promise((r) => setTimeout(r, 500));
    const real = await psql('orders-db', 'select 40 + 2 as answer');
    expect(real.out).toMatch(/\b42\b/);
    // The property: the real session was not held up behind the silent ones (it finished first).
    expect(settled, 'silent logins that ended before the real one').toEqual([]);
    expect(Date.now() - started).toBeLessThan(CONNECT_TIMEOUT_S * 1000);
    const results = Object.fromEntries(await Promise.all(Object.entries(silent).map(async ([k, p]) => [k, await p] as const)));
    const lines: string[] = [`a real psql login + statement while six silent logins were pending: ${real.ms} ms`];
    for (const [name, r] of Object.entries(results)) {
      lines.push(`${name}: client error after ${r.ms} ms: ${r.out.trim().split('\n')[0]}`);
      expect(r.code).not.toBe(0);
      expect(r.out).toContain(`${name} did not complete the connection within ${CONNECT_TIMEOUT_S} s (connect timeout)`);
      // Within the timeout plus the client's own start, auth and TLS (generous for a loaded machine).
      expect(r.ms).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_S * 1000 - 100);
      expect(r.ms).toBeLessThan(CONNECT_TIMEOUT_S * 1000 + 5000);
    }
    expect(results['silent-pg']!.out).toMatch(/FATAL: .*Portcullis|FATAL: .*silent-pg/);
    expect(results['silent-my']!.out).toMatch(/ERROR 1105 \(HY000\)/);
    expect(results['silent-ssh']!.out).toMatch(/Portcullis: silent-ssh did not complete/);
    console.log(`silent targets (connect timeout ${CONNECT_TIMEOUT_S} s), measured:\n  ${lines.join('\n  ')}`);

    // The gateway hung up on every silent peer (no half-open leg left behind).
    for (const [name, p] of peers) await waitFor(`the gateway to drop its leg to ${name}`, () => p.closedAt.length >= 1, 5000);
    const sessions = JSON.parse(must(gw.admin(['session', 'list', '--json']))) as SessionRow[];
    const held: string[] = [];
    for (const name of peers.keys()) {
      const s = sessions.find((x) => x.target === name)!;
      expect(s.end_reason).toBe('upstream-failed');
      // On the gateway's clock: from the session's start (credential issued, connect begun) to its end.
      const ms = Date.parse(s.ended_at!) - Date.parse(s.started_at);
      held.push(`${name} ${ms} ms`);
      expect(ms).toBeLessThan(CONNECT_TIMEOUT_S * 1000 + 1500);
    }
    console.log(`silent targets: session start to end on the gateway clock: ${held.join(', ')}`);
    const audit = must(gw.admin(['audit', 'export']));
    expect(audit.split('\n').filter((l) => l.includes('"session.upstream_failed"') && l.includes('"reason":"timeout"'))).toHaveLength(peers.size);
  }, 90_000);

  it('silent MySQL targets in the store do not hold the gateway\'s start (greeting probes run at once, waited for at most 2 s)', async () => {
    const t0 = Date.now();
    await gw.restart();
    const ms = Date.now() - t0;
    console.log(`silent targets: restart with two silent MySQL targets took ${ms} ms (before: up to 15 s per target, one after another)`);
    expect(ms).toBeLessThan(20_000);
    expect((await psql('orders-db', 'select 1 as up')).out).toMatch(/\bup\b/);
  }, 60_000);
});
