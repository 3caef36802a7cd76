// Issue 14 item 1, the TLS half: the vaulted database credential goes only to the genuine server.
// Real psql and mariadb through the gateway to real PostgreSQL 15 and MariaDB serving TLS with a
// certificate from the per-process test CA, verified by that CA and by a pinned fingerprint; then
// impostors at other addresses that answer each protocol's TLS upgrade with another certificate
// (self-signed with the same name, a rogue CA's with the same CA name, the right CA's for another
// name, and the right CA's for the right name against a pin). Each impostor gets as far as a TLS
// handshake (the gateway sees its certificate) and receives nothing inside it: no StartupMessage, no HandshakeResponse, no password,
// no SCRAM message. The user gets a clear refusal, the admin log and the audit trail say why.
// Also: `target fetch-cert`, the pin question of `target add`, and what `target test` reports.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateView, TargetView } from '../../gateway/api-types.js';
import { adminIn } from '../harness/cli-in-process.js';
import { requireBinary, run, waitFor } from '../harness/common.js';
import { BIN, type CliResult, json } from '../harness/gateway.js';
import { startMysqlTlsImpostor } from '../harness/impostors/mysql-tls-impostor.js';
import { startPgTlsImpostor } from '../harness/impostors/pg-tls-impostor.js';
import type { TlsImpostor } from '../harness/impostors/tls-impostor.js';
import { type MariadbPeer, startMariadb } from '../harness/mariadb.js';
import { DB_PASSWORD, DBA_PASSWORD, type PgFixture, startPgFixture } from '../harness/pg-fixture.js';
import { caSignedFor, rogueCaSigned, selfSigned, testTls, tlsCaArgs, tlsPinArgs } from '../harness/test-ca.js';

const SHOP_PASSWORD = 'Shop-Vaulted-Canary-77';
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

let fx: PgFixture;
let maria: MariadbPeer;
const impostors: TlsImpostor[] = [];
let mariadbBin: string;

const must = (r: { code: number; stdout: string; stderr: string }): string => { if (r.code !== 0) throw new Error(r.stderr || r.stdout); return r.stdout; };

// The admin CLI runs in process (test/harness/cli-in-process.ts): the same argv, code and output
// as a spawned `portcullis` without its ~1.3 s start-up per call; it does not block the event loop
// the impostors live in. The pin question on a terminal (atTerminal) stays a real process.
const admin = (args: string[], stdin?: string): Promise<CliResult> => adminIn(fx.gw, args, stdin);

async function addTarget(name: string, kind: 'postgres' | 'mysql', port: number, tls: string[]): Promise<void> {
  const [account, db, password] = kind === 'postgres' ? ['app', 'orders', DB_PASSWORD] : ['shopapp', 'shop', SHOP_PASSWORD];
  must(await admin(['target', 'add', name, '--kind', kind, '--host', '127.0.0.1', '--port', String(port), '--account', account,
    '--database', db, ...tls, '--password-stdin'], `${password}\n`));
  must(await admin(['grant', 'add', '--user', 'dba', '--target', name, '--for', '1h', '--reason', 'tls test']));
}

function psql(target: string, sql: string): { status: number; stdout: string; stderr: string } {
  return fx.psql(['-tAc', sql], { conninfo: fx.conninfo().replace('dba+orders-db', `dba+${target}`) });
}

function mariadb(target: string, sql: string): { status: number; stdout: string; stderr: string } {
  return run(mariadbBin, ['--no-defaults', '-h', '127.0.0.1', '-P', String(fx.gw.ports.mysql), '-u', `dba+${target}`, `-p${DBA_PASSWORD}`,
    '--ssl', '--batch', '-N', '-e', sql]);
}

/**
 * Runs the CLI on a real terminal (util-linux `script` gives it a pty): answers the pin question
 * once it is asked, then types the password and ^D for --password-stdin.
 */
function atTerminal(args: string[], answer: string, password: string): Promise<{ code: number; output: string }> {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const child = spawn(requireBinary('util-linux', 'script'), ['-qec', quoted, '/dev/null'], { env: { ...process.env, PORTCULLIS_DATA: '' } });
  let output = '';
  let answered = false;
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
    if (!answered && output.includes('[y/N]')) {
      answered = true;
      child.stdin.write(`${answer}\n${password}\n\x04`);
    }
  });
  const timer = setTimeout(() => child.kill(), 30_000);
  return new Promise((resolve) => child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, output }); }));
}

/**
 * A client run without blocking this process: the impostors live in the test's own event loop, so
 * a synchronous spawn would hold them still while the gateway waits on them.
 */
function runAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  const child = spawn(cmd, args, { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdin.end();
  return new Promise((resolve) => child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr })));
}

const psqlAsync = (target: string, sql: string): ReturnType<typeof runAsync> =>
  runAsync(requireBinary('postgresql-client-15', 'psql'), ['-X', fx.conninfo().replace('dba+orders-db', `dba+${target}`), '-tAc', sql], { PGPASSWORD: DBA_PASSWORD });
const mariadbAsync = (target: string, sql: string): ReturnType<typeof runAsync> =>
  runAsync(mariadbBin, ['--no-defaults', '-h', '127.0.0.1', '-P', String(fx.gw.ports.mysql), '-u', `dba+${target}`, `-p${DBA_PASSWORD}`, '--ssl', '--batch', '-N', '-e', sql]);

async function auditLines(): Promise<Array<{ code: string; data: Record<string, unknown> }>> {
  return must(await admin(['audit', 'export'])).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { code: string; data: Record<string, unknown> });
}

beforeAll(async () => {
  mariadbBin = requireBinary('mariadb-client', 'mariadb');
  [fx, maria] = await Promise.all([startPgFixture(), startMariadb()]);
  maria.createUser('shopapp', SHOP_PASSWORD, 'shop');
  must(await admin(['grant', 'add', '--user', 'dba', '--target', 'orders-db', '--for', '1h', '--reason', 'tls test']));
  await addTarget('orders-pin', 'postgres', fx.pg.port, tlsPinArgs());
  await addTarget('shop-ca', 'mysql', maria.port, tlsCaArgs());
  await addTarget('shop-pin', 'mysql', maria.port, tlsPinArgs());
}, 180_000);

afterAll(async () => {
  await Promise.all(impostors.map((i) => i.stop()));
  await Promise.all([fx?.stop(), maria?.stop()]);
});

describe('the genuine servers, verified', () => {
  it('psql reaches PostgreSQL over a TLS upstream verified by the CA and by the pin', () => {
    for (const t of ['orders-db', 'orders-pin']) {
      const r = psql(t, 'select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()');
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim(), t).toBe('app|t');
    }
  });

  it('mariadb reaches MariaDB over a TLS upstream verified by the CA and by the pin', () => {
    for (const t of ['shop-ca', 'shop-pin']) {
      const r = mariadb(t, "SELECT CURRENT_USER(), VARIABLE_VALUE <> '' FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_CIPHER'");
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim(), t).toBe('shopapp@127.0.0.1\t1');
    }
  });

  it('target test reports how TLS was verified; target list shows the mode and the pin in short', async () => {
    const byCa = json<{ ok: boolean; tls: string }>(await admin(['target', 'test', 'orders-db', '--json']));
    expect(byCa).toMatchObject({ ok: true, tls: "chain verified against the target's CA (--tls-ca) and name 127.0.0.1 matches" });
    expect(json<{ ok: boolean; tls: string }>(await admin(['target', 'test', 'shop-pin', '--json']))).toMatchObject({ ok: true, tls: expect.stringMatching(/^certificate matches the pinned sha256:[0-9a-f]{16}…$/) as unknown });
    expect(json<{ ok: boolean; tls: string }>(await admin(['target', 'test', 'shop-ca', '--json']))).toMatchObject({ ok: true, tls: expect.stringMatching(/chain verified/) as unknown });
    const list = must(await admin(['target', 'list']));
    expect(list).toMatch(/^NAME\s+KIND\s+HOST\s+PORT\s+ACCOUNT\s+CREDENTIAL\s+TLS\s+TLS_PIN\s+ALLOW_WEAK_UPSTREAM_AUTH/m);
    expect(list).toMatch(new RegExp(`^orders-pin\\s+postgres.*verify-full\\s+${testTls().fingerprint.slice(0, 23)}…\\s+false`, 'm'));
    const views = json<TargetView[]>(await admin(['target', 'list', '--json']));
    expect(views.find((v) => v.name === 'orders-db')).toMatchObject({ tls: 'verify-full', tls_ca: expect.stringMatching(/Portcullis Test CA/) as unknown, tls_fingerprint: null });
    expect(views.find((v) => v.name === 'shop-pin')).toMatchObject({ tls_fingerprint: testTls().fingerprint, tls_ca: null });
  });

  it('fetch-cert shows the certificate each protocol presents, with the fingerprint to pin', async () => {
    for (const [kind, port] of [['postgres', fx.pg.port], ['mysql', maria.port]] as const) {
      const c = json<CertificateView>(await admin(['target', 'fetch-cert', '--kind', kind, '--host', '127.0.0.1', '--port', String(port), '--json']));
      expect(c).toMatchObject({ subject: 'CN=127.0.0.1', issuer: expect.stringMatching(/CN=Portcullis Test CA/) as unknown, sans: ['IP Address:127.0.0.1', 'DNS:localhost'], fingerprint: testTls().fingerprint, trusted: false });
      const withCa = json<CertificateView>(await admin(['target', 'fetch-cert', '--kind', kind, '--host', '127.0.0.1', '--port', String(port), ...tlsCaArgs(), '--json']));
      expect(withCa).toMatchObject({ trusted: true, name_matches: true, chain_error: null });
      const text = must(await admin(['target', 'fetch-cert', '--kind', kind, '--host', '127.0.0.1', '--port', String(port)]));
      expect(text).toContain(`fingerprint: ${testTls().fingerprint}`);
      expect(text).toMatch(/valid: +\d{4}-.* to \d{4}-/);
    }
    const none = await admin(['target', 'fetch-cert', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(fx.gw.ports.mysql)]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/does not accept TLS/);
  });
});

describe('target add without a way to verify', () => {
  it('is refused without a terminal, naming the options', async () => {
    const r = await admin(['target', 'add', 'no-tls-choice', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(fx.pg.port), '--account', 'app', '--password-stdin'], `${DB_PASSWORD}\n`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/needs a way to verify its server's TLS certificate: give --tls-fingerprint sha256:\.\.\. \(see: portcullis target fetch-cert --kind postgres --host 127\.0\.0\.1 --port \d+\), --tls-ca FILE.*--tls verify-full.*--tls disable/);
    expect(json<TargetView[]>(await admin(['target', 'list', '--json'])).map((t) => t.name)).not.toContain('no-tls-choice');
  });

  it('refuses tls require without CA or pin unless opted in by name', async () => {
    const r = await admin(['target', 'add', 'weak', '--kind', 'mysql', '--host', '127.0.0.1', '--port', String(maria.port), '--account', 'shopapp', '--tls', 'require', '--password-stdin'], `${SHOP_PASSWORD}\n`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--allow-weak-upstream-auth/);
    await addTarget('weak', 'mysql', maria.port, ['--tls', 'require', '--allow-weak-upstream-auth']);
    expect(mariadb('weak', 'SELECT 1').stdout.trim()).toBe('1');
    expect(json<{ tls: string }>(await admin(['target', 'test', 'weak', '--json'])).tls).toMatch(/encrypted but NOT verified/);
    expect((await auditLines()).find((e) => e.code === 'target.created' && e.data.target === 'weak')?.data).toMatchObject({ tls: 'require', allowWeakUpstreamAuth: true });
  });

  it('on a terminal: fetches the certificate, shows it, pins it on yes and adds nothing on no', async () => {
    const args = (name: string): string[] => ['target', 'add', name, '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(fx.pg.port),
      '--account', 'app', '--database', 'orders', '--password-stdin', '--data', fx.gw.dataDir];
    const no = await atTerminal(args('asked-no'), 'n', DB_PASSWORD);
    expect(no.code, no.output).toBe(1);
    expect(no.output).toMatch(/not pinned, target not added/);
    const yes = await atTerminal(args('asked-yes'), 'y', DB_PASSWORD);
    expect(yes.code, yes.output).toBe(0);
    expect(yes.output).toContain(`fingerprint: ${testTls().fingerprint}`);
    expect(yes.output).toMatch(/subject: +CN=127\.0\.0\.1[\s\S]*names: +IP Address:127\.0\.0\.1, DNS:localhost[\s\S]*Pin this certificate for 127\.0\.0\.1\? .*\[y\/N\]/);
    const views = json<TargetView[]>(await admin(['target', 'list', '--json']));
    expect(views.map((v) => v.name)).not.toContain('asked-no');
    expect(views.find((v) => v.name === 'asked-yes')).toMatchObject({ tls: 'verify-full', tls_fingerprint: testTls().fingerprint });
    must(await admin(['grant', 'add', '--user', 'dba', '--target', 'asked-yes', '--for', '1h', '--reason', 'tls test']));
    expect(psql('asked-yes', 'select 1').stdout.trim()).toBe('1');
  });
});

describe('impostors receive nothing usable', () => {
  const cases = [
    { trick: 'self-signed with the genuine name', cert: () => selfSigned(), tls: tlsCaArgs, why: /is not signed by the target's CA/ },
    { trick: 'signed by a rogue CA with the same name', cert: () => rogueCaSigned(), tls: tlsCaArgs, why: /is not signed by the target's CA/ },
    { trick: 'signed by the right CA for another name (verify-full)', cert: () => caSignedFor(['db.elsewhere.example']), tls: tlsCaArgs, why: /is not for 127\.0\.0\.1/ },
    { trick: 'signed by the right CA for the right name, but not the pinned one', cert: () => caSignedFor(['127.0.0.1']), tls: tlsPinArgs, why: /is not the pinned one/ },
  ];
  for (const kind of ['postgres', 'mysql'] as const) {
    cases.forEach((c, i) => {
      it(`${kind}: ${c.trick}`, async () => {
        const imp = await (kind === 'postgres' ? startPgTlsImpostor : startMysqlTlsImpostor)(c.cert());
        impostors.push(imp);
        const name = `${kind === 'postgres' ? 'pg' : 'my'}-impostor-${i}`;
        await addTarget(name, kind, imp.port, c.tls());
        const r = await (kind === 'postgres' ? psqlAsync(name, 'select 1') : mariadbAsync(name, 'SELECT 1'));
        expect(r.status).not.toBe(0);
        // The user's refusal says what happened and who can fix it.
        expect(r.stderr).toMatch(c.why);
        expect(r.stderr).toMatch(/the credential was not sent/);
        expect(r.stderr).toMatch(new RegExp(`portcullis target (test ${name}|fetch-cert)`));
        // A TLS handshake was under way (the refusal above names what the certificate got wrong, so
        // the gateway saw it), and not one byte came inside TLS.
        expect(imp.tlsBytes()).toBeGreaterThan(0);
        await new Promise((res) => setTimeout(res, 200));
        expect(imp.insideTls().length).toBe(0);
        // In clear only the upgrade request: PostgreSQL's 8-byte SSLRequest, MySQL's 32-byte SSL request packet.
        if (kind === 'postgres') expect(imp.clear().equals(SSL_REQUEST)).toBe(true);
        else expect(imp.clear().length).toBe(36);
        for (const secret of [DB_PASSWORD, SHOP_PASSWORD, 'shopapp', 'app\0']) expect(imp.clear().includes(secret)).toBe(false);
        // target test takes the same path: refused, and the impostor still has nothing.
        const test = JSON.parse((await admin(['target', 'test', name, '--json'])).stdout) as { ok: boolean; detail: string; tls: string };
        expect(test).toMatchObject({ ok: false, detail: 'TLS not verified: the credential was not sent', tls: expect.stringMatching(c.why) as unknown });
        expect(imp.insideTls().length).toBe(0);
        // The admin's log and the audit trail name the reason.
        await waitFor('the audit entry', async () => (await auditLines()).some((e) => e.code === 'session.upstream_failed' && e.data.target === name), 10_000);
        const failed = (await auditLines()).find((e) => e.code === 'session.upstream_failed' && e.data.target === name);
        expect(failed?.data).toMatchObject({ reason: 'tls', detail: expect.stringMatching(c.why) as unknown });
        expect(fx.gw.log()).toMatch(c.why);
      }, 60_000);
    });
  }
});

describe('the impostors themselves', () => {
  // The control: had the gateway trusted an impostor (an explicitly unverified target), the
  // impostor would have recorded the login inside TLS. So "nothing inside TLS" above is a finding.
  for (const kind of ['postgres', 'mysql'] as const) {
    it(`${kind}: an opted-in unverified target does send its login inside TLS to the impostor`, async () => {
      const imp = await (kind === 'postgres' ? startPgTlsImpostor : startMysqlTlsImpostor)(selfSigned());
      impostors.push(imp);
      const name = `${kind === 'postgres' ? 'pg' : 'my'}-control`;
      await addTarget(name, kind, imp.port, ['--tls', 'require', '--allow-weak-upstream-auth']);
      const client = kind === 'postgres' ? psqlAsync(name, 'select 1') : mariadbAsync(name, 'SELECT 1');
      await waitFor('the login inside TLS', () => imp.insideTls().includes(kind === 'postgres' ? 'app\0' : 'shopapp\0'), 15_000);
      // Hang up rather than let the client wait out the connect timeout.
      impostors.splice(impostors.indexOf(imp), 1);
      await imp.stop();
      expect((await client).status).not.toBe(0);
    }, 60_000);
  }
});

describe('secrets', () => {
  it('no vaulted password in the gateway log, the audit trail, target list/test or fetch-cert output', async () => {
    const tests: CliResult[] = [];
    for (const t of ['orders-db', 'shop-pin', 'pg-impostor-0', 'my-impostor-3']) tests.push(await admin(['target', 'test', t, '--json']));
    const seen = [
      ...tests.map((r) => r.stdout + r.stderr), fx.gw.log(), must(await admin(['audit', 'export'])), must(await admin(['target', 'list', '--json'])),
    ].join('\n');
    for (const s of [DB_PASSWORD, SHOP_PASSWORD]) expect(seen).not.toContain(s);
  });
});
