// Vaulted credentials: `target test` logs in to a real sshd and MariaDB with them; key rotation
// keeps them working; and a canary secret never shows up in API answers, logs, or the audit log.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TargetView } from '../../gateway/access/views.js';
import { startMariadb, type MariadbPeer } from '../harness/mariadb.js';
import { startSshd, type SshdPeer } from '../harness/sshd.js';
import { adminIn } from '../harness/cli-in-process.js';
import { type CliResult, type GatewayPeer, json, startGateway } from '../harness/gateway.js';
import { tlsCaArgs } from '../harness/test-ca.js';

let gw: GatewayPeer;
let sshd: SshdPeer;
let maria: MariadbPeer;
const DB_CANARY = 'Canary-Db-Secret-7f3a9c';
// Most admin calls run in process (test/harness/cli-in-process.ts): the same argv, output and exit
// codes without ~1.2 s of Node start-up each; the first target add and the key rotation stay
// real processes.
const admin = (args: string[], stdin?: string): Promise<CliResult> => adminIn(gw, args, stdin);

beforeAll(async () => {
  [gw, sshd, maria] = await Promise.all([startGateway(), startSshd(), startMariadb()]);
  maria.createUser('shopapp', DB_CANARY, 'shop');
}, 180_000);

afterAll(async () => { await Promise.all([gw?.stop(), sshd?.stop(), maria?.stop()]); });

describe('vaulted credentials', () => {
  it('logs in to a real sshd with the vaulted password and key', async () => {
    const add = gw.admin(['target', 'add', 'web01', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(sshd.port), '--account', sshd.user,
      '--password-stdin', '--host-key', sshd.hostKeyFingerprint], `${sshd.password}\n`);
    expect(add.code, add.stderr).toBe(0);
    expect(json<{ ok: boolean; login: string }>(await admin(['target', 'test', 'web01', '--json']))).toMatchObject({ ok: true, login: 'ok' });
    const withKey = await admin(['target', 'add', 'web01-key', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(sshd.port), '--account', sshd.user,
      '--key-file', sshd.clientKeyFile, '--host-key', sshd.hostKeyFingerprint]);
    expect(withKey.code, withKey.stderr).toBe(0);
    expect(json<{ ok: boolean }>(await admin(['target', 'test', 'web01-key', '--json'])).ok).toBe(true);
  });

  it('refuses a host whose key does not match the pin, without revealing the key it saw', async () => {
    await admin(['target', 'add', 'imposter', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(sshd.port), '--account', sshd.user,
      '--password-stdin', '--host-key', 'SHA256:' + 'Z'.repeat(43)], `${sshd.password}\n`);
    const r = await admin(['target', 'test', 'imposter', '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/host key does not match the pinned fingerprint/);
    expect(r.stdout).not.toContain(sshd.hostKeyFingerprint.slice(7));
  });

  it('reports a wrong vaulted password as a login failure', async () => {
    await admin(['target', 'add', 'web01-bad', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(sshd.port), '--account', sshd.user,
      '--password-stdin', '--host-key', sshd.hostKeyFingerprint], 'not-the-password\n');
    expect(json<{ ok: boolean; detail: string }>({ ...(await admin(['target', 'test', 'web01-bad', '--json'])), code: 0 })).toMatchObject({ ok: false, detail: 'upstream refused the vaulted credential' });
  });

  it('logs in to a real MariaDB with the vaulted password', async () => {
    const add = await admin(['target', 'add', 'shop-db', '--kind', 'mysql', '--host', '127.0.0.1', '--port', String(maria.port), '--account', 'shopapp',
      '--database', 'shop', ...tlsCaArgs(), '--password-stdin'], `${DB_CANARY}\n`);
    expect(add.code, add.stderr).toBe(0);
    expect(json<{ ok: boolean; login: string }>(await admin(['target', 'test', 'shop-db', '--json']))).toMatchObject({ ok: true, login: 'ok' });
  });

  it('keeps every credential working across a master key rotation', async () => {
    const before = readFileSync(join(gw.dataDir, 'master.key'), 'utf8');
    const r = json<{ resealed: number }>(gw.admin(['vault', 'rotate-key', '--json']));
    expect(r.resealed).toBe(5);
    expect(readFileSync(join(gw.dataDir, 'master.key'), 'utf8')).not.toBe(before);
    expect(statSync(join(gw.dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(json<{ ok: boolean }>(await admin(['target', 'test', 'web01', '--json'])).ok).toBe(true);
    expect(json<{ ok: boolean }>(await admin(['target', 'test', 'shop-db', '--json'])).ok).toBe(true);
  });

  it('never shows a vaulted secret in API answers, the audit log, the gateway log or the data dir outside the store', async () => {
    const secrets = [DB_CANARY, sshd.password, readFileSync(sshd.clientKeyFile, 'utf8').split('\n')[1]!];
    const tests: string[] = [];
    for (const t of ['web01', 'web01-key', 'shop-db']) tests.push((await admin(['target', 'test', t, '--json'])).stdout);
    const seen = [
      (await admin(['target', 'list', '--json'])).stdout,
      ...tests,
      (await admin(['audit', 'export'])).stdout,
      gw.log(),
      ...readdirSync(gw.dataDir).filter((f) => !f.startsWith('state.db') && !f.startsWith('master.key')).map((f) => {
        const p = join(gw.dataDir, f);
        return statSync(p).isFile() ? readFileSync(p, 'utf8') : '';
      }),
    ].join('\n');
    expect(json<TargetView[]>(await admin(['target', 'list', '--json']))).toHaveLength(5);
    for (const s of secrets) expect(seen).not.toContain(s);
    // The store holds them only sealed.
    const db = readFileSync(join(gw.dataDir, 'state.db')).toString('latin1');
    for (const s of secrets) expect(db).not.toContain(s);
  });
});
