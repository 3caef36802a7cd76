// The vaulted password goes only to the genuine PostgreSQL target (issue 14 item 1, the
// authentication half). Impostor servers (test/harness/impostors) ask for cleartext, for MD5, or
// play SCRAM without knowing the password (AuthenticationOk without the server signature, or a
// wrong signature): a real psql through the gateway gets a clear refusal, the impostor receives no
// password and no MD5 answer, and the gateway's log holds no secret. Then the opt-in path against
// the real PostgreSQL, with an MD5 account and a cleartext (pg_hba "password") account: refused by
// default, working and audited (upstream.weak_auth) on a target added with --allow-weak-upstream-auth;
// and a "trust" account, refused without verified TLS (nothing shows the server is the target).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingLayout, recordingsRoot } from '../../recorder/layout.js';
import { requireBinary, tempDir } from '../harness/common.js';
import { BIN, type GatewayPeer, startGateway } from '../harness/gateway.js';
import { startPgCleartextImpostor } from '../harness/impostors/pg-cleartext.js';
import type { PgImpostor } from '../harness/impostors/pg-impostor.js';
import { MD5_SALT, startPgMd5Impostor } from '../harness/impostors/pg-md5.js';
import { startPgScramNoFinalImpostor } from '../harness/impostors/pg-scram-no-final.js';
import { startPgScramWrongSignatureImpostor } from '../harness/impostors/pg-scram-wrong-signature.js';
import { PipedClient } from '../harness/piped-client.js';
import { type PostgresPeer, startPostgres } from '../harness/postgres.js';

const USER = 'dba';
const PASSWORD = 'dba-Password-1';
const SECRET = 'Vaulted-Impostor-Canary-93';
const MD5_SECRET = 'Md5-Account-Canary-61';
const CLEAR_SECRET = 'Clear-Account-Canary-27';

let gw: GatewayPeer;
let pg: PostgresPeer;
let home: string;
const impostors = new Map<string, PgImpostor>();

const must = (r: { code: number; stderr: string; stdout: string }): string => {
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout;
};

/** Clients run asynchronously: the impostors live in this process and must keep answering. */
async function runAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> {
  const c = new PipedClient(cmd, args, env);
  const code = await c.exited;
  return { code, out: c.output };
}
const psql = (target: string, sql = 'select current_user'): Promise<{ code: number; out: string }> => runAsync(requireBinary('postgresql-client-15', 'psql'), [
  '-X', '-A', '-t', `host=127.0.0.1 port=${gw.ports.postgres} user=${USER}+${target} dbname=postgres sslmode=require connect_timeout=20`, '-c', sql,
], { PGPASSWORD: PASSWORD });
const targetTest = async (name: string): Promise<{ ok: boolean; detail: string }> => {
  const r = await runAsync(process.execPath, [BIN, 'target', 'test', name, '--json', '--data', gw.dataDir], { PORTCULLIS_HOME: home, PORTCULLIS_DATA: '' });
  return JSON.parse(r.out) as { ok: boolean; detail: string };
};
interface AuditRow { code: string; data: Record<string, unknown> }
const audit = (): AuditRow[] => must(gw.admin(['audit', 'export'])).split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRow);

function addTarget(name: string, port: number, account: string, secret: string, extra: string[] = []): void {
  must(gw.admin(['target', 'add', name, '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(port), '--account', account,
    // Plaintext: the point here is the login methods a server asks for (TLS has its own suite).
    '--database', 'postgres', '--tls', 'disable', '--password-stdin', ...extra], `${secret}\n`));
  must(gw.admin(['grant', 'add', '--user', USER, '--target', name, '--for', '30m', '--reason', 'impostor test']));
}

beforeAll(async () => {
  [gw, pg] = await Promise.all([startGateway(), startPostgres()]);
  home = tempDir('pg-auth-home');
  must(gw.admin(['user', 'add', USER, '--role', 'dba', '--password-stdin'], `${PASSWORD}\n`));
  const started: Array<[string, Promise<PgImpostor>]> = [
    ['imp-cleartext', startPgCleartextImpostor()], ['imp-md5', startPgMd5Impostor()],
    ['imp-scram-no-final', startPgScramNoFinalImpostor()], ['imp-scram-bad-sig', startPgScramWrongSignatureImpostor()],
  ];
  for (const [name, p] of started) {
    const imp = await p;
    impostors.set(name, imp);
    addTarget(name, imp.port, 'app', SECRET);
  }
  // The real server with two legacy accounts: one whose password is stored as MD5 and checked with
  // md5, one checked with "password" (cleartext) in pg_hba.conf.
  pg.sql(`SET password_encryption = 'md5'; CREATE ROLE weak_md5 LOGIN PASSWORD '${MD5_SECRET}'`);
  pg.sql(`CREATE ROLE weak_clear LOGIN PASSWORD '${CLEAR_SECRET}'`);
  pg.sql('CREATE ROLE weak_trust LOGIN');
  const hba = join(pg.dir, 'data', 'pg_hba.conf');
  writeFileSync(hba, `host all weak_md5 127.0.0.1/32 md5\nhost all weak_clear 127.0.0.1/32 password\nhost all weak_trust 127.0.0.1/32 trust\n${readFileSync(hba, 'utf8')}`);
  pg.sql('SELECT pg_reload_conf()');
  addTarget('md5-db', pg.port, 'weak_md5', MD5_SECRET);
  addTarget('md5-db-weak', pg.port, 'weak_md5', MD5_SECRET, ['--allow-weak-upstream-auth']);
  addTarget('clear-db-weak', pg.port, 'weak_clear', CLEAR_SECRET, ['--allow-weak-upstream-auth']);
  addTarget('trust-db', pg.port, 'weak_trust', 'unused-secret');
}, 120_000);

afterAll(async () => {
  for (const i of impostors.values()) i.close();
  await Promise.all([gw?.stop(), pg?.stop()]);
});

describe('PostgreSQL upstream authentication against impostors', () => {
  it('refuses cleartext and MD5 before sending anything: psql is told why, the impostor gets no password and no MD5 answer', async () => {
    const md5Answer = 'md5' + createHash('md5').update(createHash('md5').update(SECRET + 'app').digest('hex')).update(MD5_SALT).digest('hex');
    for (const [name, words] of [['imp-cleartext', /asked for cleartext password authentication, which would reveal the vaulted password.*--allow-weak-upstream-auth/s],
      ['imp-md5', /asked for MD5 password authentication.*--allow-weak-upstream-auth/s]] as const) {
      const r = await psql(name);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(words);
      const imp = impostors.get(name)!;
      expect(imp.connections()).toBeGreaterThanOrEqual(1);
      // Nothing after the StartupMessage: no PasswordMessage at all.
      expect(imp.messages).toEqual([]);
      expect(imp.received().includes(SECRET)).toBe(false);
      expect(imp.received().includes(md5Answer)).toBe(false);
    }
  }, 60_000);

  it('refuses SCRAM from a server that cannot prove it knows the password (no server signature, or a wrong one): the session never starts', async () => {
    for (const [name, words] of [['imp-scram-no-final', /without proving it knows the password/], ['imp-scram-bad-sig', /SCRAM server signature is wrong/]] as const) {
      const r = await psql(name, 'select 42');
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(words);
      expect(r.out).not.toMatch(/^42$/m);
      const imp = impostors.get(name)!;
      // The two SCRAM messages (a nonce, then a proof the impostor cannot reverse), then nothing: no query.
      expect(imp.messages.map((m) => m.type)).toEqual(['p', 'p']);
      expect(imp.received().includes(SECRET)).toBe(false);
    }
  }, 60_000);

  it('books each refusal as an upstream failure with its reason, audits no weak use, and logs no secret', () => {
    const rows = audit();
    const failed = rows.filter((r) => r.code === 'session.upstream_failed').map((r) => `${String(r.data.target)}:${String(r.data.reason)}`);
    expect(failed).toEqual(expect.arrayContaining(['imp-cleartext:weak-auth', 'imp-md5:weak-auth', 'imp-scram-no-final:server-auth-failed', 'imp-scram-bad-sig:server-auth-failed']));
    expect(rows.filter((r) => r.code === 'upstream.weak_auth' && String(r.data.target).startsWith('imp-'))).toEqual([]);
    for (const s of [SECRET, MD5_SECRET, CLEAR_SECRET]) expect(gw.log()).not.toContain(s);
  });

  it('target test applies the same rules and says why', async () => {
    const r = await targetTest('imp-cleartext');
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/cleartext password authentication/);
    expect(impostors.get('imp-cleartext')!.messages).toEqual([]);
    expect((await targetTest('imp-scram-bad-sig')).detail).toMatch(/SCRAM server signature is wrong/);
  }, 60_000);
});

describe('PostgreSQL weak upstream authentication, opted in, against the real server', () => {
  it('refuses the MD5 account on a target that did not opt in', async () => {
    const r = await psql('md5-db');
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/MD5 password authentication/);
  }, 30_000);

  it('refuses a login the server lets in without any authentication (trust) when TLS did not verify it: an impostor could do the same', async () => {
    const r = await psql('trust-db');
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/without any authentication and without verified TLS/);
  }, 30_000);

  it('logs in with MD5 and with cleartext where the target opted in, and audits each use', async () => {
    const md5 = await psql('md5-db-weak');
    expect(md5.out.trim()).toBe('weak_md5');
    const clear = await psql('clear-db-weak');
    expect(clear.out.trim()).toBe('weak_clear');
    const weakRows = audit().filter((r) => r.code === 'upstream.weak_auth');
    expect(weakRows.map((r) => `${String(r.data.target)}:${String(r.data.method)}`)).toEqual(['md5-db-weak:pg-md5', 'clear-db-weak:pg-cleartext']);
    // The session's recording says so too.
    const events = readFileSync(RecordingLayout.of(recordingsRoot(gw.dataDir), String(weakRows[0]!.data.session)).events, 'utf8');
    expect(events).toMatch(/weak_upstream_auth.*pg-md5/);
    const created = audit().filter((r) => r.code === 'target.created').map((r) => [r.data.target, r.data.allowWeakUpstreamAuth]);
    expect(created).toEqual(expect.arrayContaining([['md5-db', false], ['md5-db-weak', true], ['clear-db-weak', true]]));
    const list = JSON.parse(must(gw.admin(['target', 'list', '--json']))) as Array<{ name: string; allow_weak_upstream_auth: boolean }>;
    expect(list.find((t) => t.name === 'clear-db-weak')?.allow_weak_upstream_auth).toBe(true);
    expect(list.find((t) => t.name === 'md5-db')?.allow_weak_upstream_auth).toBe(false);
    expect(must(gw.admin(['target', 'list']))).toMatch(/ALLOW_WEAK_UPSTREAM_AUTH[^\n]*\nclear-db-weak .* true /);
    for (const s of [MD5_SECRET, CLEAR_SECRET]) expect(gw.log()).not.toContain(s);
  }, 60_000);
});
