// The gateway's side of a MySQL/MariaDB target's login (mysql/upstream-auth.ts), packet by packet:
// challenge-response always; the password itself only over verified TLS, RSA-encrypted only to the
// pinned key (asked for and compared), otherwise only where the target opted in (reported first).
import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MyUpstreamAuth } from '../../gateway/mysql/upstream-auth.js';
import { nativeScramble, sha2Scramble } from '../../gateway/mysql/wire/auth-scramble.js';
import { rsaKeyFingerprint } from '../../gateway/mysql/wire/rsa-key.js';
import { type WeakUpstreamAuth, upstreamAuthPolicy } from '../../gateway/session/upstream-auth.js';
import { UpstreamFailure } from '../../gateway/session/upstream-failure.js';
import type { DbTlsMode } from '../../gateway/store/records.js';

const PASSWORD = Buffer.from('Vaulted-Canary-My-55');
const NONCE = Buffer.from('abcdefghij0123456789');
const genuine = generateKeyPairSync('rsa', { modulusLength: 2048 });
const impostor = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (k: typeof genuine): string => k.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const PIN = rsaKeyFingerprint(pem(genuine));

function auth(opts: { allowWeak?: boolean; tls?: DbTlsMode; pin?: string | null } = {}): { a: MyUpstreamAuth; weak: WeakUpstreamAuth[] } {
  const weak: WeakUpstreamAuth[] = [];
  const tls = opts.tls ?? 'disable';
  const policy = upstreamAuthPolicy({ name: 'shop-db', tlsMode: tls, allowWeakUpstreamAuth: opts.allowWeak ?? false, rsaKeyFingerprint: opts.pin ?? null, tlsFingerprint: null }, (m) => weak.push(m));
  return { a: new MyUpstreamAuth(policy, PASSWORD, tls !== 'disable'), weak };
}
const switchTo = (plugin: string, data = Buffer.concat([NONCE, Buffer.from([0])])): Buffer => Buffer.concat([Buffer.from([0xfe]), Buffer.from(plugin + '\0'), data]);
const keyData = (k: typeof genuine): Buffer => Buffer.from(pem(k), 'latin1');

function failure(fn: () => unknown): UpstreamFailure {
  try {
    fn();
  } catch (e) {
    if (e instanceof UpstreamFailure) return e;
    throw e;
  }
  throw new Error('did not throw');
}

const containsPassword = (b: Buffer): boolean => b.includes(PASSWORD);
const decrypt = (blob: Buffer): Buffer => {
  const plain = privateDecrypt({ key: genuine.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, blob);
  return Buffer.from(plain.map((x, i) => x ^ NONCE[i % NONCE.length]!));
};

describe('MySQL upstream authentication', () => {
  it('answers with scrambles, never the password: caching_sha2 fast path, native, and switches between them', () => {
    const { a, weak } = auth();
    expect(a.start('caching_sha2_password', NONCE)).toEqual({ plugin: 'caching_sha2_password', response: sha2Scramble(PASSWORD, NONCE) });
    expect(a.moreData(Buffer.from([0x03]))).toBeNull();
    expect(a.switchTo(switchTo('mysql_native_password'))).toEqual(nativeScramble(PASSWORD, NONCE));
    expect(auth().a.start('sha256_password', NONCE)).toEqual({ plugin: 'mysql_native_password', response: nativeScramble(PASSWORD, NONCE) });
    expect(weak).toEqual([]);
  });

  it('refuses caching_sha2 full authentication without TLS and without a pinned key, before asking for any key', () => {
    const { a, weak } = auth();
    a.start('caching_sha2_password', NONCE);
    const f = failure(() => a.moreData(Buffer.from([0x04])));
    expect(f.kind).toBe('weak-auth');
    expect(f.message).toMatch(/RSA key the gateway cannot check.*--mysql-rsa-key.*--allow-weak-upstream-auth/);
    expect(f.message).not.toContain(PASSWORD.toString());
    expect(weak).toEqual([]);
  });

  it('refuses an RSA key the server sends without being asked, whatever the target allows', () => {
    for (const allowWeak of [false, true]) {
      const { a } = auth({ allowWeak, pin: PIN });
      a.start('caching_sha2_password', NONCE);
      expect(failure(() => a.moreData(keyData(impostor))).kind).toBe('server-auth-failed');
    }
  });

  it('asks for the key when one is pinned, encrypts to it when it matches, and refuses another key even with weak methods allowed', () => {
    const good = auth({ pin: PIN });
    good.a.start('caching_sha2_password', NONCE);
    expect(good.a.moreData(Buffer.from([0x04]))).toEqual(Buffer.from([0x02]));
    const blob = good.a.moreData(keyData(genuine))!;
    expect(containsPassword(blob)).toBe(false);
    expect(decrypt(blob)).toEqual(Buffer.concat([PASSWORD, Buffer.from([0])]));
    expect(good.weak).toEqual([]);
    for (const allowWeak of [false, true]) {
      const bad = auth({ pin: PIN, allowWeak });
      bad.a.start('caching_sha2_password', NONCE);
      bad.a.moreData(Buffer.from([0x04]));
      const f = failure(() => bad.a.moreData(keyData(impostor)));
      expect(f.kind).toBe('rsa-key-mismatch');
      expect(f.message).toContain(rsaKeyFingerprint(pem(impostor)));
    }
  });

  it('sends the password in clear for full authentication only over verified TLS', () => {
    const verified = auth({ tls: 'verify-full' });
    verified.a.start('caching_sha2_password', NONCE);
    expect(verified.a.moreData(Buffer.from([0x04]))).toEqual(Buffer.concat([PASSWORD, Buffer.from([0])]));
    // Over TLS a server takes only the password in clear (no RSA there), so a pin does not help.
    for (const pin of [null, PIN]) {
      const unverified = auth({ tls: 'require', pin });
      unverified.a.start('caching_sha2_password', NONCE);
      expect(failure(() => unverified.a.moreData(Buffer.from([0x04]))).message).toMatch(/password in clear without verified TLS/);
    }
    const optedIn = auth({ tls: 'require', allowWeak: true });
    optedIn.a.start('caching_sha2_password', NONCE);
    expect(containsPassword(optedIn.a.moreData(Buffer.from([0x04]))!)).toBe(true);
    expect(optedIn.weak).toEqual(['mysql-cleartext']);
  });

  it('on opt-in without a pin, reports the unpinned RSA exchange before asking for the key', () => {
    const { a, weak } = auth({ allowWeak: true });
    a.start('caching_sha2_password', NONCE);
    expect(a.moreData(Buffer.from([0x04]))).toEqual(Buffer.from([0x02]));
    expect(weak).toEqual(['mysql-rsa-unpinned']);
    expect(containsPassword(a.moreData(keyData(impostor))!)).toBe(false);
  });

  it('follows the same rules after an AuthSwitchRequest: mysql_clear_password and sha256_password', () => {
    const clear = auth();
    clear.a.start('mysql_native_password', NONCE);
    expect(failure(() => clear.a.switchTo(switchTo('mysql_clear_password', Buffer.alloc(0)))).kind).toBe('weak-auth');
    const clearOk = auth({ allowWeak: true });
    expect(clearOk.a.switchTo(switchTo('mysql_clear_password', Buffer.alloc(0)))).toEqual(Buffer.concat([PASSWORD, Buffer.from([0])]));
    expect(clearOk.weak).toEqual(['mysql-cleartext']);
    const clearTls = auth({ tls: 'verify-full' });
    expect(containsPassword(clearTls.a.switchTo(switchTo('mysql_clear_password', Buffer.alloc(0))))).toBe(true);
    expect(clearTls.weak).toEqual([]);

    expect(failure(() => auth().a.switchTo(switchTo('sha256_password'))).kind).toBe('weak-auth');
    const sha256 = auth({ pin: PIN });
    expect(sha256.a.switchTo(switchTo('sha256_password'))).toEqual(Buffer.from([0x01]));
    expect(decrypt(sha256.a.moreData(keyData(genuine))!)).toEqual(Buffer.concat([PASSWORD, Buffer.from([0])]));
  });

  it('refuses unknown plugins, the old password scheme, endless switching and junk where a key was asked for', () => {
    expect(failure(() => auth({ allowWeak: true }).a.switchTo(switchTo('dialog'))).kind).toBe('auth-unsupported');
    expect(failure(() => auth({ allowWeak: true }).a.switchTo(Buffer.from([0xfe]))).kind).toBe('auth-unsupported');
    const { a } = auth();
    a.switchTo(switchTo('mysql_native_password'));
    a.switchTo(switchTo('caching_sha2_password'));
    expect(failure(() => a.switchTo(switchTo('mysql_native_password'))).kind).toBe('protocol');
    const junk = auth({ pin: PIN });
    junk.a.start('caching_sha2_password', NONCE);
    junk.a.moreData(Buffer.from([0x04]));
    expect(failure(() => junk.a.moreData(Buffer.from('-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n'))).kind).toBe('protocol');
  });

  it('fingerprints a PEM key in either form to the same pin', () => {
    const pkcs1 = genuine.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(rsaKeyFingerprint(pkcs1)).toBe(PIN);
    expect(PIN).toMatch(/^sha256:[0-9a-f]{64}$/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => rsaKeyFingerprint(ec)).toThrow(/not an RSA public key/);
  });
});
