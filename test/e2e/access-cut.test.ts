// Taking access away ends access at once (issue 13 item 7), with real clients through a real
// gateway to real targets: OpenSSH (incl. a ControlMaster connection), psql and the mariadb CLI.
// Each way access is taken away — user disabled or removed, target removed, grant revoked, policy
// removed or narrowed — ends every affected live session within 1 s with its own reason (measured
// on the gateway's own clock: the root change's audit entry to the session's end), revokes the
// affected grants (audited), and leaves other users' sessions running.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminIn, asIn, loginIn } from '../harness/cli-in-process.js';
import { requireBinary, run, runOk, tempDir, waitFor } from '../harness/common.js';
import { type CliResult, type GatewayPeer, json, startGateway } from '../harness/gateway.js';
import { type MariadbPeer, startMariadb } from '../harness/mariadb.js';
import { PipedClient } from '../harness/piped-client.js';
import { type PostgresPeer, startPostgres } from '../harness/postgres.js';
import { type SshdPeer, startSshd } from '../harness/sshd.js';
import { tlsCaArgs, tlsPinArgs } from '../harness/test-ca.js';

const DB_PASSWORD = 'Db-Vaulted-Canary-13';
const SHOP_PASSWORD = 'Shop-Vaulted-Canary-13';

let gw: GatewayPeer;
let sshd: SshdPeer;
let pg: PostgresPeer;
let my: MariadbPeer;
let dir: string;
let key: string;
const figures: string[] = [];

const must = (r: { code: number; stderr: string; stdout: string }): string => {
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout;
};
const password = (user: string): string => `${user}-Password-1`;
// The admin and user CLI run in process (test/harness/cli-in-process.ts): the same argv, code and
// store as a spawned `portcullis`, without its ~1.3 s start-up on each of the ~150 calls here.
const admin = (args: string[], stdin?: string): Promise<CliResult> => adminIn(gw, args, stdin);

beforeAll(async () => {
  [gw, sshd, pg, my] = await Promise.all([startGateway(), startSshd(), startPostgres(), startMariadb()]);
  dir = tempDir('cut');
  key = join(dir, 'id_ed25519');
  runOk(requireBinary('openssh-client', 'ssh-keygen'), ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  pg.sql(`CREATE ROLE app LOGIN PASSWORD '${DB_PASSWORD}'`);
  pg.sql('CREATE DATABASE orders OWNER app');
  my.createUser('shopapp', SHOP_PASSWORD, 'shop');
  for (const name of ['web01', 'web02']) {
    must(await admin(['target', 'add', name, '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(sshd.port), '--account', sshd.user,
      '--password-stdin', '--host-key', sshd.hostKeyFingerprint], `${sshd.password}\n`));
  }
  for (const name of ['orders-db', 'orders-db2']) {
    must(await admin(['target', 'add', name, '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(pg.port), '--account', 'app',
      '--database', 'orders', ...tlsCaArgs(), '--password-stdin'], `${DB_PASSWORD}\n`));
  }
  for (const name of ['shop-db', 'shop-db2']) {
    must(await admin(['target', 'add', name, '--kind', 'mysql', '--host', '127.0.0.1', '--port', String(my.port), '--account', 'shopapp',
      '--database', 'shop', ...tlsPinArgs(), '--password-stdin'], `${SHOP_PASSWORD}\n`));
  }
}, 180_000);

afterAll(async () => {
  if (figures.length) console.log(`access cut, measured:\n  ${figures.join('\n  ')}`);
  await Promise.all([gw?.stop(), sshd?.stop(), pg?.stop(), my?.stop()]);
});

async function addUser(name: string, role = 'ops'): Promise<void> {
  must(await admin(['user', 'add', name, '--role', role, '--password-stdin', '--ssh-key', `${key}.pub`], `${password(name)}\n`));
}

async function grant(user: string, target: string): Promise<string> {
  return json<{ id: string }>(await admin(['grant', 'add', '--user', user, '--target', target, '--for', '10m', '--reason', 'test', '--json'])).id;
}

/** A request-based grant: the user asks under an auto-approving policy. */
async function requestGrant(user: string, target: string): Promise<string> {
  must(await loginIn(gw, user, password(user)));
  return json<{ grant: string }>(await asIn(gw, user, ['request', target, '--for', '10m', '--reason', 'test', '--json'])).grant;
}

async function addPolicy(name: string, role: string, targets: string, extra: string[] = []): Promise<void> {
  must(await admin(['policy', 'add', name, '--roles', role, '--targets', targets, '--max', '1h', '--approvals', '0', '--auto-approve', ...extra]));
}

const sshOpts = (extra: string[] = []): string[] => [
  ...extra, '-p', String(gw.ports.ssh), '-i', key, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
  '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10',
];

/** A long-running client; `exited` resolves with its status and everything it printed. */
interface Running { exited: Promise<{ code: number; out: string }>; kill(): void }

function sshRun(login: string, command: string[], extra: string[] = []): Running {
  const child: ChildProcessWithoutNullStreams = spawn('ssh', [...sshOpts(extra), `${login}@127.0.0.1`, ...command]);
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  child.stdin.end();
  const exited = new Promise<{ code: number; out: string }>((r) => child.on('close', (code) => r({ code: code ?? -1, out })));
  return { exited, kill: () => child.kill('SIGKILL') };
}

function psqlRun(user: string, target: string): Running {
  const c = new PipedClient('psql', ['-X', `host=127.0.0.1 port=${gw.ports.postgres} user=${user}+${target} dbname=orders sslmode=require connect_timeout=10`],
    { PGPASSWORD: password(user) });
  c.type('select pg_sleep(60);');
  return { exited: c.exited.then((code) => ({ code, out: c.output })), kill: () => { void c.end(); } };
}

function mariadbRun(user: string, target: string): Running {
  const c = new PipedClient('mariadb', ['--no-defaults', '-h', '127.0.0.1', '-P', String(gw.ports.mysql), '-u', `${user}+${target}`,
    `-p${password(user)}`, '--ssl', '--batch']);
  c.type('select sleep(60);');
  return { exited: c.exited.then((code) => ({ code, out: c.output })), kill: () => { void c.end(); } };
}

interface SessionRow { id: string; user: string; target: string; protocol: string; ended_at: string | null; end_reason: string | null; live: boolean }
const sessions = async (): Promise<SessionRow[]> => JSON.parse(must(await admin(['session', 'list', '--json']))) as SessionRow[];
const liveOf = async (user: string): Promise<SessionRow[]> => (await sessions()).filter((s) => s.user === user && s.live);

async function waitLive(user: string, n: number): Promise<void> {
  await waitFor(`${n} live sessions of ${user}`, async () => (await liveOf(user)).length >= n, 30_000);
  // Let each client's long statement or command reach the target.
  await new Promise((r) => setTimeout(r, 700));
}

interface AuditRow { seq: number; ts: number; code: string; data: Record<string, unknown> }
const audit = async (): Promise<AuditRow[]> => must(await admin(['audit', 'export'])).split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRow);

/**
 * Cuts with `act` (a CLI call), then checks every client of `user` ended, each session with
 * `reason`, within 1 s of the root change's audit entry (`code`), and records the figures.
 */
async function cutAndCheck(what: string, user: string, clients: Running[], act: () => Promise<unknown>, code: string, reason: string): Promise<void> {
  // By id: a removed user's sessions no longer list under the name.
  const ids = (await liveOf(user)).map((s) => s.id);
  expect(ids).toHaveLength(clients.length);
  return cutAndCheckIds(what, ids, clients, act, code, reason);
}

async function cutAndCheckIds(what: string, ids: string[], clients: Running[], act: () => Promise<unknown>, code: string, reason: string): Promise<void> {
  const before = (await audit()).length;
  const t0 = Date.now();
  await act();
  const cliDone = Date.now();
  const results = await Promise.all(clients.map(async (c) => {
    const timer = setTimeout(() => c.kill(), 10_000);
    const r = await c.exited;
    clearTimeout(timer);
    return { ...r, at: Date.now() };
  }));
  const mine = async (): Promise<SessionRow[]> => (await sessions()).filter((s) => ids.includes(s.id));
  await waitFor(`sessions ${ids.join(', ')} ended`, async () => (await mine()).every((s) => !s.live), 10_000);
  const ended = await mine();
  expect(ended.map((s) => s.end_reason)).toEqual(ids.map(() => reason));
  const root = (await audit()).slice(before).find((e) => e.code === code);
  expect(root).toBeDefined();
  const gatewayMs = Math.max(...ended.map((s) => Date.parse(s.ended_at!) - root!.ts));
  const clientMs = Math.max(...results.map((r) => r.at - cliDone));
  figures.push(`${what}: sessions ended ${gatewayMs} ms after the change (gateway clock); clients exited ${clientMs} ms after the CLI returned (CLI took ${cliDone - t0} ms)`);
  expect(gatewayMs).toBeLessThan(1000);
  expect(clientMs).toBeLessThan(3000);
  for (const r of results) expect(r.out).toMatch(/Portcullis|server closed|lost|ERROR|terminat/i);
}

describe('taking access away ends access at once', () => {
  it('disabling a user ends their SSH, psql and mariadb sessions (user-disabled) and revokes their grants; another user keeps theirs', async () => {
    await addUser('u-dis');
    await addUser('u-bystander');
    const grants = [await grant('u-dis', 'web01'), await grant('u-dis', 'orders-db'), await grant('u-dis', 'shop-db')];
    await grant('u-bystander', 'web01');
    const bystander = sshRun('u-bystander+web01', ['sleep', '60']);
    const clients = [sshRun('u-dis+web01', ['sleep', '60']), psqlRun('u-dis', 'orders-db'), mariadbRun('u-dis', 'shop-db')];
    await waitLive('u-dis', 3);
    await waitLive('u-bystander', 1);
    await cutAndCheck('user disable (ssh + psql + mariadb)', 'u-dis', clients, async () => must(await admin(['user', 'disable', 'u-dis'])), 'user.updated', 'user-disabled');
    expect((await clients[0]!.exited).out).toMatch(/your Portcullis account was disabled/);
    const revoked = (await audit()).filter((e) => e.code === 'grant.revoked' && e.data.cause === 'user-disabled').map((e) => e.data.grant);
    expect(revoked).toEqual(expect.arrayContaining(grants));
    expect((await liveOf('u-bystander'))).toHaveLength(1);
    bystander.kill();
  }, 90_000);

  it('an OpenSSH ControlMaster connection: new channels and forwards are authorized again, and disabling the user ends the master and refuses new channels', async () => {
    await addUser('u-cm', 'cm');
    await addPolicy('cm-web', 'cm', 'web01', ['--allow-port-forwarding']);
    await requestGrant('u-cm', 'web01');
    const control = join(dir, 'cm.sock');
    const cm = ['-o', `ControlPath=${control}`];
    const master = run('ssh', [...sshOpts(['-o', 'ControlMaster=yes', ...cm, '-fN']), 'u-cm+web01@127.0.0.1']);
    expect(master.status).toBe(0);
    const viaMaster = (command: string[], extra: string[] = []): ReturnType<typeof run> =>
      run('ssh', [...sshOpts([...extra, '-o', 'ControlMaster=no', ...cm]), 'u-cm+web01@127.0.0.1', ...command]);
    expect(viaMaster(['echo', 'first-channel']).stdout).toContain('first-channel');
    // A forward through the master: allowed by the policy now.
    const fwd = viaMaster(['true'], ['-W', `127.0.0.1:${sshd.port}`]);
    expect(fwd.stdout).toMatch(/^SSH-2\.0-/);
    // The policy stops allowing forwards: the next forward on the same master is refused, channels still work.
    must(await admin(['policy', 'replace', 'cm-web', '--roles', 'cm', '--targets', 'web01', '--max', '1h', '--approvals', '0', '--auto-approve']));
    expect(viaMaster(['true'], ['-W', `127.0.0.1:${sshd.port}`]).stdout).not.toMatch(/SSH-2\.0-/);
    expect(viaMaster(['echo', 'still-allowed']).stdout).toContain('still-allowed');
    const session = sshRun('u-cm+web01', ['sleep', '60'], ['-o', 'ControlMaster=no', ...cm]);
    await waitFor('the mux session', async () => (await liveOf('u-cm')).length === 1, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    await cutAndCheck('user disable (ControlMaster)', 'u-cm', [session], async () => must(await admin(['user', 'disable', 'u-cm'])), 'user.updated', 'user-disabled');
    // A new channel on the master is refused at once (the session has ended)...
    const after = viaMaster(['echo', 'must-not-run']);
    expect(after.stdout).not.toContain('must-not-run');
    expect(after.status).not.toBe(0);
    // ...and the master's connection goes: the client closes it, or the gateway 5 s after its words.
    await waitFor('the master to be gone', () => run('ssh', [...sshOpts(['-o', 'ControlMaster=no', ...cm]), '-O', 'check', 'u-cm+web01@127.0.0.1']).status !== 0, 10_000);
    const log = gw.log();
    expect(log).toMatch(/ssh\.forward_refused/);
  }, 90_000);

  it('removing a user ends their psql session (user-removed)', async () => {
    await addUser('u-rm', 'dba');
    await grant('u-rm', 'orders-db');
    const c = [psqlRun('u-rm', 'orders-db')];
    await waitLive('u-rm', 1);
    await cutAndCheck('user remove (psql)', 'u-rm', c, async () => must(await admin(['user', 'remove', 'u-rm'])), 'user.removed', 'user-removed');
  }, 60_000);

  it('removing a target ends the mariadb session on it (target-removed); a session on another target goes on', async () => {
    await addUser('u-tgt', 'dba');
    await grant('u-tgt', 'shop-db');
    const onOther = mariadbRun('u-tgt', 'shop-db');
    await waitLive('u-tgt', 1);
    const otherId = (await liveOf('u-tgt'))[0]!.id;
    await grant('u-tgt', 'shop-db2');
    const c = [mariadbRun('u-tgt', 'shop-db2')];
    await waitFor('the second session', async () => (await liveOf('u-tgt')).length === 2, 30_000);
    await new Promise((r) => setTimeout(r, 700));
    const cut = async (): Promise<void> => {
      const ids = (await liveOf('u-tgt')).filter((x) => x.id !== otherId).map((x) => x.id);
      await cutAndCheckIds('target remove (mariadb)', ids, c, async () => must(await admin(['target', 'remove', 'shop-db2'])), 'target.removed', 'target-removed');
    };
    await cut();
    expect((await liveOf('u-tgt')).map((x) => x.id)).toEqual([otherId]);
    onOther.kill();
  }, 60_000);

  it('revoking a grant ends its SSH session (grant-revoked)', async () => {
    await addUser('u-rev');
    const g = await grant('u-rev', 'web02');
    const c = [sshRun('u-rev+web02', ['sleep', '60'])];
    await waitLive('u-rev', 1);
    await cutAndCheck('grant revoke (ssh)', 'u-rev', c, async () => must(await admin(['grant', 'revoke', g, '--reason', 'test'])), 'grant.revoked', 'grant-revoked');
  }, 60_000);

  it('removing the policy a request-based grant stands on ends its SSH and mariadb sessions (policy-removed)', async () => {
    await addUser('u-pol', 'polrm');
    await addPolicy('polrm', 'polrm', 'web02,shop-db');
    await requestGrant('u-pol', 'web02');
    await requestGrant('u-pol', 'shop-db');
    const c = [sshRun('u-pol+web02', ['sleep', '60']), mariadbRun('u-pol', 'shop-db')];
    await waitLive('u-pol', 2);
    await cutAndCheck('policy remove (ssh + mariadb)', 'u-pol', c, async () => must(await admin(['policy', 'remove', 'polrm'])), 'policy.removed', 'policy-removed');
  }, 60_000);

  it('narrowing that policy (the target no longer matches) ends the psql session on it (policy-narrowed), not the one it still covers', async () => {
    await addUser('u-nar', 'narrow');
    await addPolicy('narrow', 'narrow', 'orders-db,orders-db2');
    await requestGrant('u-nar', 'orders-db');
    await requestGrant('u-nar', 'orders-db2');
    const kept = psqlRun('u-nar', 'orders-db2');
    const c = [psqlRun('u-nar', 'orders-db')];
    await waitLive('u-nar', 2);
    const t0 = Date.now();
    const out = must(await admin(['policy', 'replace', 'narrow', '--roles', 'narrow', '--targets', 'orders-db2', '--max', '1h', '--approvals', '0', '--auto-approve', '--json']));
    expect(JSON.parse(out)).toMatchObject({ grants_revoked: 1, grants_shortened: 0 });
    const r = await c[0]!.exited;
    figures.push(`policy narrowed (psql): client exited ${Date.now() - t0} ms after the CLI started`);
    expect(r.out).toMatch(/no longer covers it/);
    await waitFor('the narrowed session ended', async () => (await sessions()).some((s) => s.user === 'u-nar' && s.end_reason === 'policy-narrowed'), 10_000);
    expect((await liveOf('u-nar')).map((s) => s.target)).toEqual(['orders-db2']);
    kept.kill();
  }, 60_000);
});
