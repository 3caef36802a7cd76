// No user enumeration before authentication, with real clients through one gateway: OpenSSH
// (method lists, prompts, refusals), psql and the mariadb client (refusals), and a raw SCRAM probe
// (salts: the same format for every name, deterministic per name, different across names). Names:
// `ops` and `plain` (password), `mfa` (password + one-time code), `off` (disabled), `nat` and `natp`
// (mysql_native_password opted in), and names that do not exist. Plus a one-time code raced by two real ssh logins.
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpAt } from '../../gateway/access/totp.js';
import { requireBinary, run, tempDir } from '../harness/common.js';
import { type GatewayPeer, startGateway } from '../harness/gateway.js';
import { type MariadbPeer, startMariadb } from '../harness/mariadb.js';
import { mysqlExchange } from '../harness/my-auth-probe.js';
import { scramServerFirst } from '../harness/pg-scram-probe.js';
import { type PostgresPeer, startPostgres } from '../harness/postgres.js';
import { type SshdPeer, startSshd } from '../harness/sshd.js';
import { THREE_TARGETS, provisionThreeTargets } from '../harness/three-targets.js';

const OPS = THREE_TARGETS.opsPassword;
const MFA = 'mfa-Password-1';
const OFF = 'off-Password-1';
const NAT = 'nat-Password-1';

let gw: GatewayPeer;
let sshd: SshdPeer;
let pg: PostgresPeer;
let my: MariadbPeer;
let dir: string;
let mfaSecret: string;

const must = (r: { code: number; stderr: string; stdout: string }): string => { if (r.code !== 0) throw new Error(r.stderr); return r.stdout; };

beforeAll(async () => {
  [gw, sshd, pg, my] = await Promise.all([startGateway(), startSshd(), startPostgres(), startMariadb()]);
  dir = tempDir('enumfx');
  provisionThreeTargets({ gw, sshd, pg, my }, dir, { for: '30m', reason: 'enumeration test' });
  for (const [name, password, extra] of [['mfa', MFA, []], ['off', OFF, []], ['nat', NAT, ['--mysql-native-password']],
    ['plain', 'plain-Password-1', []], ['natp', 'natp-Password-1', ['--mysql-native-password']]] as const) {
    must(gw.admin(['user', 'add', name, '--role', 'ops', '--password-stdin', ...extra], `${password}\n`));
    for (const target of ['web01', 'orders-db', 'shop-db']) {
      must(gw.admin(['grant', 'add', '--user', name, '--target', target, '--for', '30m', '--reason', 'enumeration test']));
    }
  }
  mfaSecret = /secret=([A-Z2-7]+)/.exec(must(gw.admin(['user', 'totp', 'mfa', '--json'])))![1]!;
  must(gw.admin(['user', 'disable', 'off']));
}, 180_000);

afterAll(async () => { await Promise.all([gw?.stop(), sshd?.stop(), pg?.stop(), my?.stop()]); });

/** The client's output with the user name written as NAME, so refusals to different names compare. */
const normalize = (text: string, name: string): string => text.replace(new RegExp(`\\b${name}\\b`, 'g'), 'NAME');

describe('PostgreSQL before authentication', () => {
  it('gives every name a salt of the same format, the same on every try, different across names', async () => {
    const names = ['ops', 'mfa', 'off', 'nat', 'ghost', 'ghost2', 'Ops'];
    const first = await Promise.all(names.map((n) => scramServerFirst(gw.ports.postgres, `${n}+orders-db`, 'orders')));
    const again = await Promise.all(names.map((n) => scramServerFirst(gw.ports.postgres, `${n}+orders-db`, 'orders')));
    for (const [i, f] of first.entries()) {
      expect(f.raw).toMatch(/^r=probeprobeprobeprobe[A-Za-z0-9+/=]+,s=[A-Za-z0-9+/]{22}==,i=16384$/);
      expect(Buffer.from(f.salt, 'base64')).toHaveLength(16);
      expect(again[i]!.salt, names[i]).toBe(f.salt);
    }
    expect(new Set(first.map((f) => f.salt)).size).toBe(names.length);
    // The target part changes nothing for a name that does not exist either.
    expect((await scramServerFirst(gw.ports.postgres, 'ghost+no-such-db', 'orders')).salt).toBe(first[4]!.salt);
  });

  it('refuses an unknown name, a wrong password, a user with a code, and a disabled user with one message', () => {
    const psql = requireBinary('postgresql-client-15', 'psql');
    const attempt = (name: string, password: string): string => {
      const r = run(psql, ['-X', `host=127.0.0.1 port=${gw.ports.postgres} user=${name}+orders-db dbname=orders sslmode=require connect_timeout=10`, '-c', 'select 1'],
        { env: { ...process.env, PGPASSWORD: password } });
      expect(r.status).not.toBe(0);
      return normalize(r.stderr.replace(/port \d+/, 'port P'), name);
    };
    const unknown = attempt('ghost', 'whatever-1');
    expect(unknown).toMatch(/FATAL: {2}password authentication failed for user "NAME"/);
    expect(unknown).toMatch(/HINT: {2}check the user name and password; an account with a one-time code or single sign-on uses a database password from: portcullis db-password orders-db/);
    expect(attempt('ops', 'wrong-password')).toBe(unknown);
    expect(attempt('mfa', MFA)).toBe(unknown);
    expect(attempt('off', OFF)).toBe(unknown);
    // Ops's own password still works: the refusal above was about the name, not the client.
    expect(run(psql, ['-X', `host=127.0.0.1 port=${gw.ports.postgres} user=ops+orders-db dbname=orders sslmode=require`, '-tAc', 'select 1'],
      { env: { ...process.env, PGPASSWORD: OPS } }).stdout.trim()).toBe('1');
  });
});

describe('MySQL before authentication', () => {
  const mariadb = (): string => requireBinary('mariadb-client', 'mariadb');
  const attempt = (name: string, password: string, extra: string[] = []): { status: number; out: string } => {
    const r = run(mariadb(), ['--no-defaults', '-h', '127.0.0.1', '-P', String(gw.ports.mysql), '-u', `${name}+shop-db`, `-p${password}`, '--ssl', '--batch', ...extra, '-e', 'select 42']);
    return { status: r.status, out: normalize(r.stderr, name) };
  };

  it('refuses every failure with one message, with caching_sha2_password and with mysql_native_password', () => {
    for (const extra of [[], ['--default-auth=mysql_native_password']]) {
      const unknown = attempt('phantom', 'whatever-1', extra);
      expect(unknown.status).not.toBe(0);
      expect(unknown.out).toMatch(/ERROR 1045 \(28000\): Access denied for user 'NAME\+shop-db' \(using password: YES\); /);
      // (mfa only once: five failures from one address lock a name, and later tests log mfa in.)
      const known = extra.length === 0 ? [['ops', 'wrong-password'], ['mfa', MFA], ['off', OFF], ['nat', 'wrong-password']] : [['ops', 'wrong-password'], ['off', OFF], ['nat', 'wrong-password']];
      for (const [name, password] of known) {
        expect(attempt(name!, password!, extra), `${name} ${extra.join(' ')}`).toEqual(unknown);
      }
    }
    // Not opted in: ops's right password over native gets the same refusal, which says what to do.
    const native = attempt('ops', OPS, ['--default-auth=mysql_native_password']);
    expect(native.out).toMatch(/mysql_native_password works only for accounts an admin enabled it for \(portcullis user update NAME --mysql-native-password\)/);
    expect(native).toEqual(attempt('phantom', OPS, ['--default-auth=mysql_native_password']));
    expect(attempt('ops', OPS).status).toBe(0);
  });

  it('runs the same exchange packet for packet for every name, whatever plugin the client names', async () => {
    // Each probe is a counted failure (five lock a name), so it uses names no other test needs.
    // [plugin, auth data, server packets]: full authentication asked, then the refusal; a switch to
    // native, then the refusal; a native scramble checked at once; a switch to caching_sha2 first.
    const cases = [['caching_sha2_password', 'empty', 2], ['mysql_native_password', 'empty', 2], ['mysql_native_password', 'junk', 1], ['sha256_password', 'junk', 3]] as const;
    for (const [plugin, answer, count] of cases) {
      const unknown = await mysqlExchange(gw.ports.mysql, 'specter+shop-db', plugin, answer);
      expect(unknown.length, `${plugin} ${answer}`).toBe(count);
      expect(unknown.at(-1)).toMatch(/Access denied for user 'specter\+shop-db'/);
      for (const name of ['natp', 'plain']) {
        const known = await mysqlExchange(gw.ports.mysql, `${name}+shop-db`, plugin, answer);
        expect(known.map((p) => normalize(p, name)), `${name} ${plugin} ${answer}`).toEqual(unknown.map((p) => normalize(p, 'specter')));
      }
    }
  });

  it('logs in an opted-in user with mysql_native_password, and keeps that verifier for them only', () => {
    const r = attempt('nat', NAT, ['--default-auth=mysql_native_password']);
    expect(r.status, r.out).toBe(0);
    const users = JSON.parse(must(gw.admin(['user', 'list', '--json']))) as Array<{ name: string; mysql_native_password: boolean }>;
    expect(users.filter((u) => u.mysql_native_password).map((u) => u.name)).toEqual(['nat', 'natp']);
    // Opting out drops it at once: the same client is refused.
    must(gw.admin(['user', 'update', 'nat', '--no-mysql-native-password']));
    expect(attempt('nat', NAT, ['--default-auth=mysql_native_password']).status).not.toBe(0);
    expect(attempt('nat', NAT).status).toBe(0);
    const reasons = gw.admin(['audit', 'export']).stdout.split('\n').filter((l) => l.includes('"auth.failed"') && l.includes('mysql-native'));
    expect(reasons.some((l) => l.includes('"native-not-enabled"') && l.includes('"nat"'))).toBe(true);
    expect(reasons.some((l) => l.includes('"unknown-user"') && l.includes('"phantom"'))).toBe(true);
  });
});

interface SshTry { status: number; stdout: string; transcript: string }

describe('SSH before authentication', () => {
  const ssh = (): string => requireBinary('openssh-client', 'ssh');

  /**
   * Real OpenSSH with every prompt answered by an askpass program that logs it: the password, then
   * `code` for a "Verification code" prompt. Returns what a client learns: the method lists, the
   * prompts in order and the outcome.
   */
  const attempt = (name: string, password: string, code: string, command = 'echo in', method = 'keyboard-interactive'): Promise<SshTry> => {
    const tag = Math.random().toString(36).slice(2);
    const log = join(dir, `askpass-${tag}.log`);
    // One script per attempt: attempts run at once, and rewriting a script another ssh is running
    // lost a prompt from its log under load.
    const askpass = join(dir, `askpass-${tag}.sh`);
    writeFileSync(askpass, '#!/bin/sh\nprintf \'%s\\n\' "$1" >> "$ASKPASS_LOG"\n'
      + 'case "$1" in *"Verification code"*) printf \'%s\\n\' "$ASKPASS_CODE";; *) printf \'%s\\n\' "$ASKPASS_PASSWORD";; esac\n');
    chmodSync(askpass, 0o755);
    writeFileSync(log, '');
    const args = ['-v', '-p', String(gw.ports.ssh), '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
      // Keyboard-interactive only, once: one attempt is one counted failure (five lock a name).
      '-o', 'PubkeyAuthentication=no', '-o', `PreferredAuthentications=${method}`, '-o', 'NumberOfPasswordPrompts=1', '-o', 'ConnectTimeout=10', `${name}+web01@127.0.0.1`, command];
    return new Promise((resolve) => {
      const child = spawn(ssh(), args, {
        env: { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0', ASKPASS_LOG: log, ASKPASS_PASSWORD: password, ASKPASS_CODE: code },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (status) => {
        clearTimeout(timer);
        const seen = err.split('\n').filter((l) => /Authentications that can continue|Partial success|Authenticated|Permission denied/.test(l))
          .map((l) => l.replace(/\r$/, ''));
        const prompts = readFileSync(log, 'utf8').trim().split('\n').map((p) => `prompt: ${p}`);
        resolve({ status: status ?? -1, stdout: out, transcript: normalize([...seen, ...prompts].join('\n'), name) });
      });
    });
  };

  it('offers every name the same methods, the same prompts in the same order, and the same refusal', async () => {
    const unknown = await attempt('nobody', 'whatever-1', '123456');
    expect(unknown.status).toBe(255);
    expect(unknown.transcript).toMatch(/Authentications that can continue: publickey,password,keyboard-interactive/);
    expect(unknown.transcript).toMatch(/prompt: \(NAME\+web01@127\.0\.0\.1\) Password:\s*\nprompt: \(NAME\+web01@127\.0\.0\.1\) Verification code \(one-time password\):/);
    expect(unknown.transcript).toMatch(/Permission denied/);
    const others = await Promise.all([
      attempt('ops', 'wrong-password', '123456'),
      attempt('mfa', 'wrong-password', '123456'),
      attempt('mfa', MFA, '000000'),
      attempt('off', 'wrong-password', '123456'),
    ]);
    for (const o of others) expect(o).toEqual(unknown);
  }, 120_000);

  it('lets the right password alone in for a user without a code, and asks a user with one for it', async () => {
    const ops = await attempt('ops', OPS, '');
    expect(ops.status, ops.transcript).toBe(0);
    expect(ops.stdout).toBe('in\n');
    expect(ops.transcript).not.toMatch(/Verification code/);
    const mfa = await attempt('mfa', MFA, totpAt(mfaSecret, Date.now()));
    expect(mfa.status, mfa.transcript).toBe(0);
    expect(mfa.transcript).toMatch(/Verification code/);
  }, 120_000);

  // After a login of mfa (which clears its failures: five from one address lock a name).
  it('answers the password method alike for every name it does not let in, a user with a code and the right password included', async () => {
    const unknown = await attempt('nobody', 'whatever-1', '', 'echo in', 'password');
    expect(unknown.status).toBe(255);
    expect(unknown.transcript).toMatch(/prompt: NAME\+web01@127\.0\.0\.1's password:/);
    const others = await Promise.all([attempt('ops', 'wrong-password', '', 'echo in', 'password'), attempt('mfa', MFA, '', 'echo in', 'password')]);
    for (const o of others) expect(o).toEqual(unknown);
    const ops = await attempt('ops', OPS, '', 'echo in', 'password');
    expect([ops.status, ops.stdout]).toEqual([0, 'in\n']);
  }, 120_000);

  it('accepts a one-time code once when two ssh logins race with it: exactly one gets in', async () => {
    // A code of the next time step (within the allowed drift) that no earlier test can have used.
    const code = totpAt(mfaSecret, Date.now() + 30_000);
    const [a, b] = await Promise.all([attempt('mfa', MFA, code, 'echo raced'), attempt('mfa', MFA, code, 'echo raced')]);
    const wins = [a, b].filter((r) => r.status === 0 && r.stdout === 'raced\n');
    expect(wins, `${a.transcript}\n---\n${b.transcript}`).toHaveLength(1);
    expect([a, b].filter((r) => r.status === 255 && /Permission denied/.test(r.transcript))).toHaveLength(1);
    // And once more, later, it is still spent.
    expect((await attempt('mfa', MFA, code, 'echo again')).status).toBe(255);
  }, 120_000);

  it('never writes a password or a code to the gateway log', () => {
    const log = gw.log();
    for (const secret of [OPS, MFA, OFF, NAT, 'wrong-password', 'whatever-1']) expect(log).not.toContain(secret);
  });
});
