// Authentication scrambles for mysql_native_password and caching_sha2_password, both directions.
import { constants, createHash, publicEncrypt, timingSafeEqual } from 'node:crypto';

const sha1 = (...b: Buffer[]): Buffer => { const h = createHash('sha1'); for (const x of b) h.update(x); return h.digest(); };
const sha256 = (...b: Buffer[]): Buffer => { const h = createHash('sha256'); for (const x of b) h.update(x); return h.digest(); };
const xor = (a: Buffer, b: Buffer): Buffer => Buffer.from(a.map((x, i) => x ^ b[i % b.length]!));

/** mysql_native_password: SHA1(password) XOR SHA1(nonce + SHA1(SHA1(password))). */
export function nativeScramble(password: Buffer, nonce: Buffer): Buffer {
  if (password.length === 0) return Buffer.alloc(0);
  const stage1 = sha1(password);
  return xor(stage1, sha1(nonce, sha1(stage1)));
}

/** Checks a client's native scramble against the stored SHA1(SHA1(password)). */
export function checkNative(scramble: Buffer, nonce: Buffer, verifierHex: string): boolean {
  const stage2 = Buffer.from(verifierHex, 'hex');
  if (scramble.length !== 20 || stage2.length !== 20) return false;
  const stage1 = xor(scramble, sha1(nonce, stage2));
  return timingSafeEqual(sha1(stage1), stage2);
}

/** caching_sha2_password fast auth: SHA256(password) XOR SHA256(SHA256(SHA256(password)) + nonce). */
export function sha2Scramble(password: Buffer, nonce: Buffer): Buffer {
  if (password.length === 0) return Buffer.alloc(0);
  const p1 = sha256(password);
  return xor(p1, sha256(sha256(p1), nonce));
}

/** caching_sha2_password full auth without TLS: RSA-OAEP of (password + NUL) XOR nonce. */
export function sha2RsaEncrypt(password: Buffer, nonce: Buffer, publicKeyPem: string): Buffer {
  const plain = xor(Buffer.concat([password, Buffer.from([0])]), nonce);
  return publicEncrypt({ key: publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING }, plain);
}
