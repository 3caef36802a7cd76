// The vaulted password goes only to the genuine MySQL target (issue 14 item 1, the authentication
// half). Impostor servers (test/harness/impostors) hold their own RSA key and ask for caching_sha2
// full authentication, or send the key unasked, or switch the login to mysql_clear_password: a
// real mariadb client through the gateway gets a clear refusal and the impostor receives no
// password and no RSA-encrypted blob. A pinned key is asked for and compared: another key is
// refused, the pinned one gets the password encrypted to it. Opt-in (--allow-weak-upstream-auth)
// sends what the server asks and is audited (upstream.weak_auth). No secret in the gateway's log.
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rsaKeyFingerprint } from '../../gateway/mysql/wire/rsa-key.js';
import { requireBinary, tempDir } from '../harness/common.js';
import { BIN, type GatewayPeer, startGateway } from '../harness/gateway.js';
import { startMyClearSwitchImpostor } from '../harness/impostors/my-clear-switch.js';
import type { MyImpostor } from '../harness/impostors/my-impostor.js';
import { type RsaImpostor, startMyOwnRsaKeyImpostor } from '../harness/impostors/my-own-rsa-key.js';
import { PipedClient } from '../harness/piped-client.js';

const USER = 'dba';
const PASSWORD = 'dba-Password-1';
const SECRET = 'Vaulted-My-Impostor-Canary-38';

let gw: GatewayPeer;
let dir: string;
const imps = new Map<string, MyImpostor | RsaImpostor>();

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
const mariadb = (target: string): Promise<{ code: number; out: string }> => runAsync(requireBinary('mariadb-client', 'mariadb'), [
  '--no-defaults', '-h', '127.0.0.1', '-P', String(gw.ports.mysql), '-u', `${USER}+${target}`, `-p${PASSWORD}`, '--ssl', '--connect-timeout=20', '--batch', '-e', 'do 1',
]);
const targetTest = async (name: string): Promise<{ ok: boolean; detail: string }> => {
  const r = await runAsync(process.execPath, [BIN, 'target', 'test', name, '--json', '--data', gw.dataDir], { PORTCULLIS_HOME: join(dir, 'home'), PORTCULLIS_DATA: '' });
  return JSON.parse(r.out) as { ok: boolean; detail: string };
};
interface AuditRow { code: string; data: Record<string, unknown> }
const audit = (): AuditRow[] => must(gw.admin(['audit', 'export'])).split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRow);
const rsa = (name: string): RsaImpostor => imps.get(name) as RsaImpostor;
/** Packets the impostor got after the HandshakeResponses (scrambles). */
const afterResponse = (name: string): Buffer[] => imps.get(name)!.packets.map((p) => p.payload);

beforeAll(async () => {
  gw = await startGateway();
  dir = tempDir('my-auth');
  must(gw.admin(['user', 'add', USER, '--role', 'dba', '--password-stdin'], `${PASSWORD}\n`));
  const otherKey = join(dir, 'other.pem');
  writeFileSync(otherKey, generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }));
  const specs: Array<[string, () => Promise<MyImpostor | RsaImpostor>, (i: MyImpostor | RsaImpostor) => string[]]> = [
    ['rsa-full', () => startMyOwnRsaKeyImpostor('full-auth'), () => []],
    ['rsa-unasked', () => startMyOwnRsaKeyImpostor('unsolicited'), () => ['--allow-weak-upstream-auth']],
    ['rsa-pinned-other', () => startMyOwnRsaKeyImpostor('full-auth'), () => ['--mysql-rsa-key', otherKey]],
    ['rsa-pinned', () => startMyOwnRsaKeyImpostor('full-auth'), (i) => ['--mysql-rsa-fingerprint', rsaKeyFingerprint((i as RsaImpostor).publicKeyPem)]],
    ['rsa-full-weak', () => startMyOwnRsaKeyImpostor('full-auth'), () => ['--allow-weak-upstream-auth']],
    ['clear-switch', () => startMyClearSwitchImpostor(), () => []],
    ['clear-switch-weak', () => startMyClearSwitchImpostor(), () => ['--allow-weak-upstream-auth']],
  ];
  for (const [name, start, extra] of specs) {
    const imp = await start();
    imps.set(name, imp);
    must(gw.admin(['target', 'add', name, '--kind', 'mysql', '--host', '127.0.0.1', '--port', String(imp.port), '--account', 'app',
      // Plaintext: the point here is the login methods an impostor asks for (TLS has its own suite).
      '--tls', 'disable', '--password-stdin', ...extra(imp)], `${SECRET}\n`));
    must(gw.admin(['grant', 'add', '--user', USER, '--target', name, '--for', '30m', '--reason', 'impostor test']));
  }
}, 120_000);

afterAll(async () => {
  for (const i of imps.values()) i.close();
  await gw?.stop();
});

describe('MySQL upstream authentication against impostors', () => {
  it('refuses caching_sha2 full authentication to an unpinned key, and a key sent unasked even with weak methods allowed: no key asked for, no blob sent', async () => {
    for (const [name, words] of [['rsa-full', /RSA key the gateway cannot check.*--mysql-rsa-key/], ['rsa-unasked', /sent an RSA key the gateway did not ask for/]] as const) {
      const r = await mariadb(name);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/ERROR 1105/);
      expect(r.out).toMatch(words);
      expect(afterResponse(name)).toEqual([]);
      expect(rsa(name).decrypted).toEqual([]);
      expect(imps.get(name)!.received().includes(SECRET)).toBe(false);
    }
  }, 60_000);

  it('asks for the key of a target with a pinned key and refuses another one before encrypting anything', async () => {
    const r = await mariadb('rsa-pinned-other');
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/is not the pinned one/);
    expect(afterResponse('rsa-pinned-other')).toEqual([Buffer.from([0x02])]);
    expect(rsa('rsa-pinned-other').decrypted).toEqual([]);
    expect(imps.get('rsa-pinned-other')!.received().includes(SECRET)).toBe(false);
  }, 30_000);

  it('encrypts the password to the pinned key when it is the one the server holds (full authentication without TLS works)', async () => {
    const r = await mariadb('rsa-pinned');
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
    expect(rsa('rsa-pinned').decrypted).toEqual([SECRET]);
    expect(imps.get('rsa-pinned')!.received().includes(SECRET)).toBe(false);
  }, 30_000);

  it('refuses an AuthSwitchRequest to mysql_clear_password without verified TLS: the impostor gets no answer at all', async () => {
    const r = await mariadb('clear-switch');
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/password in clear without verified TLS.*--allow-weak-upstream-auth/);
    expect(afterResponse('clear-switch')).toEqual([]);
    expect(imps.get('clear-switch')!.received().includes(SECRET)).toBe(false);
  }, 30_000);

  it('on a target that opted in, answers what the server asks and audits each use', async () => {
    expect((await mariadb('clear-switch-weak')).code).toBe(0);
    expect(imps.get('clear-switch-weak')!.received().includes(SECRET)).toBe(true);
    expect((await mariadb('rsa-full-weak')).code).toBe(0);
    expect(rsa('rsa-full-weak').decrypted).toEqual([SECRET]);
    const weak = audit().filter((a) => a.code === 'upstream.weak_auth').map((a) => `${String(a.data.target)}:${String(a.data.method)}`);
    expect(weak).toEqual(['clear-switch-weak:mysql-cleartext', 'rsa-full-weak:mysql-rsa-unpinned']);
  }, 60_000);

  it('target test obeys the same rules, the refusals are booked with their reasons, and no secret reaches the log', async () => {
    const t = await targetTest('rsa-full');
    expect(t.ok).toBe(false);
    expect(t.detail).toMatch(/RSA key the gateway cannot check/);
    expect(await targetTest('rsa-pinned')).toMatchObject({ ok: true, detail: 'logged in' });
    expect(afterResponse('rsa-full')).toEqual([]);
    const failed = audit().filter((a) => a.code === 'session.upstream_failed').map((a) => `${String(a.data.target)}:${String(a.data.reason)}`);
    expect(failed).toEqual(expect.arrayContaining(['rsa-full:weak-auth', 'rsa-unasked:server-auth-failed', 'rsa-pinned-other:rsa-key-mismatch', 'clear-switch:weak-auth']));
    const created = audit().find((a) => a.code === 'target.created' && a.data.target === 'rsa-pinned')!;
    expect(created.data.rsaKeyFingerprint).toBe(rsaKeyFingerprint(rsa('rsa-pinned').publicKeyPem));
    expect(gw.log()).not.toContain(SECRET);
  }, 60_000);
});
