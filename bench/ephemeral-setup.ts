// Session setup with and without zero standing privilege: a new client session, login to the first
// byte of its first answer, through Portcullis with the target's static vaulted account and with an
// account made for the grant, next to the client going direct. PostgreSQL 15 (psql) and MariaDB
// (the mariadb client), TLS from the client to the gateway and from the gateway to the server, as
// in production. Per protocol, median of RUNS sequential sessions each:
//   - direct;
//   - static credential;
//   - ephemeral, first session of a fresh grant (the account is created: CREATE ROLE / CREATE USER
//     with the level's roles, then the login);
//   - ephemeral, a later session of the same grant (the account exists: its sealed secret is opened).
// Sessions per second is 1000 / the median: one client opening sessions one after another.
// SSH (OpenSSH, `whoami`) runs on the provisioner host of the e2e tests
// (test/harness/ssh-provisioner-host.ts): a real sshd, sudo, and OS users this run makes and
// removes; the static account is a key account there.
//   npm run bench:ephemeral
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from '../test/harness/common.js';
import { type CliResult, startGateway } from '../test/harness/gateway.js';
import { startMyEphemeral, USER_PASSWORD } from '../test/harness/my-ephemeral.js';
import { startEphemeralSshWorld } from '../test/harness/ssh-ephemeral-gw.js';
import { startPostgres } from '../test/harness/postgres.js';
import { testTls, tlsPinArgs } from '../test/harness/test-ca.js';
import { median, ratioRow, type Row, runIfMain, type SuiteResult } from './lib/results.js';

const RUNS = Number(process.env.BENCH_SETUP_RUNS ?? 20);
const PASSWORD = 'bench-App-Password-1';
const PCX = /^pcx_[a-z2-7]{12}(@.*)?$/;

// Every setup step must succeed: a silently failed one would time the wrong thing.
function must(r: CliResult): string {
  if (r.code !== 0) throw new Error(`CLI failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Times one client session; its output must name the account it ran as (ephemeral rows must really run as a per-grant account). */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv, account: RegExp): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 60_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  if (!account.test(r.stdout.trim())) throw new Error(`ran as ${r.stdout.trim()}, not ${account}`);
  return ms;
}

/** As timed, with the event loop running meanwhile: the SSH host's sshd logs to a pipe this process reads. */
function timedAsync(cmd: string, args: string[], account: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`${args.join(' ')}: ${err}`));
      else if (!account.test(out.trim())) reject(new Error(`ran as ${out.trim()}, not ${account}`));
      else resolve(ms);
    });
  });
}

type Paths = Record<'direct' | 'static' | 'ephemeral first' | 'ephemeral later', number[]>;

function rowsOf(protocol: string, p: Paths): Row[] {
  const med = Object.fromEntries(Object.entries(p).map(([k, xs]) => [k, median(xs)]));
  return [
    ratioRow({ workload: `${protocol}: new session, login to first answer (median of ${RUNS})`, unit: 'ms', values: med }, 'ephemeral first', 'static', undefined, true),
    ratioRow({ workload: `${protocol}: sessions per second, one client opening them in turn`, unit: 'sessions/s', values: Object.fromEntries(Object.entries(med).map(([k, v]) => [k, 1000 / v])) },
      'ephemeral later', 'static'),
  ];
}

async function postgres(): Promise<Row[]> {
  const psql = requireBinary('postgresql-client-15', 'psql');
  const pg = await startPostgres();
  const gw = await startGateway({ env: { PORTCULLIS_LOG_LEVEL: 'warn' } });
  try {
    pg.sql(`CREATE ROLE app LOGIN PASSWORD '${PASSWORD}'`);
    // The provisioner as the PostgreSQL provisioner documents it: CREATEROLE (and INHERIT), nothing else.
    pg.sql(`CREATE ROLE portcullis_prov LOGIN CREATEROLE PASSWORD '${PASSWORD}'`);
    pg.sql('CREATE ROLE pc_read NOLOGIN');
    pg.sql('CREATE DATABASE bench OWNER app');
    pg.sql('GRANT CONNECT ON DATABASE bench TO pc_read');
    must(gw.admin(['user', 'add', 'dba', '--role', 'dba', '--password-stdin'], `${PASSWORD}\n`));
    const tls = ['--tls', 'verify-full', '--tls-ca', testTls().caFile];
    must(gw.admin(['target', 'add', 'static-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(pg.port), '--account', 'app',
      '--database', 'bench', ...tls, '--password-stdin'], `${PASSWORD}\n`));
    must(gw.admin(['target', 'add', 'zsp-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(pg.port), '--account', 'portcullis_prov',
      '--database', 'bench', ...tls, '--credential', 'ephemeral', '--level', 'read=pc_read', '--password-stdin'], `${PASSWORD}\n`));
    must(gw.admin(['target', 'test', 'zsp-db']));
    must(gw.admin(['grant', 'add', '--user', 'dba', '--target', 'static-db', '--for', '2h', '--reason', 'bench']));
    const env: NodeJS.ProcessEnv = { ...process.env, PGPASSWORD: PASSWORD, PGSSLMODE: 'require', PGCONNECT_TIMEOUT: '20' };
    const once = (port: number, user: string, account: RegExp): number =>
      timed(psql, ['-X', '-tAc', 'select current_user', '-h', '127.0.0.1', '-p', String(port), '-U', user, 'bench'], env, account);
    const grant = (): string => (JSON.parse(must(gw.admin(['grant', 'add', '--user', 'dba', '--target', 'zsp-db', '--level', 'read', '--for', '2h', '--reason', 'bench', '--json']))) as { id: string }).id;
    const p: Paths = { direct: [], static: [], 'ephemeral first': [], 'ephemeral later': [] };
    for (let i = 0; i < RUNS; i++) p.direct.push(once(pg.port, 'app', /^app$/));
    for (let i = 0; i < RUNS; i++) p.static.push(once(gw.ports.postgres, 'dba+static-db', /^app$/));
    let last = '';
    for (let i = 0; i < RUNS; i++) {
      if (last) must(gw.admin(['grant', 'revoke', last, '--reason', 'bench']));
      last = grant();
      p['ephemeral first'].push(once(gw.ports.postgres, 'dba+zsp-db', PCX));
    }
    for (let i = 0; i < RUNS; i++) p['ephemeral later'].push(once(gw.ports.postgres, 'dba+zsp-db', PCX));
    return rowsOf('PostgreSQL (psql)', p);
  } finally {
    await Promise.all([gw.stop(), pg.stop()]);
  }
}

async function mysql(): Promise<Row[]> {
  const mariadb = requireBinary('mariadb-client', 'mariadb');
  const m = await startMyEphemeral({ PORTCULLIS_LOG_LEVEL: 'warn' }, ['dev']);
  try {
    m.db.createUser('app', PASSWORD, 'shop');
    must(m.gw.admin(['target', 'add', 'shop-static', '--kind', 'mysql', '--host', '127.0.0.1', '--port', String(m.db.port), '--account', 'app',
      '--database', 'shop', ...tlsPinArgs(), '--password-stdin'], `${PASSWORD}\n`));
    m.grant('dev', 'shop-static', '2h');
    const once = (port: number, user: string, password: string, account: RegExp): number =>
      timed(mariadb, ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-u', user, '--ssl', '--batch', '-N', '-e', 'SELECT CURRENT_USER()'],
        { ...process.env, MYSQL_PWD: password }, account);
    const p: Paths = { direct: [], static: [], 'ephemeral first': [], 'ephemeral later': [] };
    for (let i = 0; i < RUNS; i++) p.direct.push(once(m.db.port, 'app', PASSWORD, /^app@/));
    for (let i = 0; i < RUNS; i++) p.static.push(once(m.gw.ports.mysql, 'dev+shop-static', USER_PASSWORD, /^app@/));
    let last = '';
    for (let i = 0; i < RUNS; i++) {
      if (last) must(m.gw.admin(['grant', 'revoke', last, '--reason', 'bench']));
      last = m.grant('dev', 'shop', '2h', 'read');
      p['ephemeral first'].push(once(m.gw.ports.mysql, 'dev+shop', USER_PASSWORD, PCX));
    }
    for (let i = 0; i < RUNS; i++) p['ephemeral later'].push(once(m.gw.ports.mysql, 'dev+shop', USER_PASSWORD, PCX));
    return rowsOf('MySQL (mariadb)', p);
  } finally {
    await m.stop();
  }
}

async function ssh(): Promise<Row[]> {
  const w = await startEphemeralSshWorld();
  try {
    w.addUser('dev');
    w.addEphemeralTarget('web');
    const { user, privateKey } = w.host.keyAccount;
    const keyFile = join(w.dir, 'static_key');
    writeFileSync(keyFile, privateKey, { mode: 0o600 });
    must(w.gw.admin(['target', 'add', 'web-static', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(w.host.port), '--account', user,
      '--key-file', keyFile, '--host-key', w.host.hostKeyFingerprint, '--rotate', 'off']));
    w.grant('dev', 'web-static', '2h');
    const common = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR'];
    const once = (port: number, key: string, login: string, account: RegExp): Promise<number> =>
      timedAsync('ssh', ['-i', key, '-p', String(port), ...common, `${login}@127.0.0.1`, 'whoami'], account);
    const exact = new RegExp(`^${user}$`);
    const p: Paths = { direct: [], static: [], 'ephemeral first': [], 'ephemeral later': [] };
    for (let i = 0; i < RUNS; i++) p.direct.push(await once(w.host.port, keyFile, user, exact));
    for (let i = 0; i < RUNS; i++) p.static.push(await once(w.gw.ports.ssh, w.keyFile('dev'), 'dev+web-static', exact));
    let last = '';
    for (let i = 0; i < RUNS; i++) {
      if (last) must(w.gw.admin(['grant', 'revoke', last, '--reason', 'bench']));
      last = w.grant('dev', 'web', '2h');
      p['ephemeral first'].push(await once(w.gw.ports.ssh, w.keyFile('dev'), 'dev+web', PCX));
    }
    for (let i = 0; i < RUNS; i++) p['ephemeral later'].push(await once(w.gw.ports.ssh, w.keyFile('dev'), 'dev+web', PCX));
    return rowsOf('SSH (OpenSSH)', p);
  } finally {
    await w.cleanup();
  }
}

export async function run(): Promise<SuiteResult> {
  const rows = [...await postgres(), ...await mysql(), ...await ssh()];
  return {
    suite: 'ephemeral-setup',
    title: 'Session setup: static vaulted account vs an account made for the grant (zero standing privilege), client TLS and TLS to the server',
    rows,
    notes: [
      'ephemeral first: the first session of a fresh grant (an account not made yet is made at this login, and its creation is in the time); ephemeral later: the account exists.',
      'ratio of the ms row: ephemeral first / static (lower is better); of the sessions/s row: ephemeral later / static.',
      'SSH: the provisioner host of the e2e tests (test/harness/ssh-provisioner-host.ts): real sshd and sudo; the accounts are OS users made with useradd and removed at the grant\'s end.',
    ],
  };
}

runIfMain(import.meta.url, run);
