// Ed25519 keys in SSH form: the public key blob (string "ssh-ed25519", string 32 bytes), the
// signature blob (string "ssh-ed25519", string 64 bytes), OpenSSH's one-line public key text, and
// Node crypto keys made from them. Ed25519 only: it is what the CLI generates and what the user CA
// is, and one key type is one parser less for an attacker to aim at.
import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { CertificateFormatError, str, WireReader } from './wire.js';

export const ED25519 = 'ssh-ed25519';
const KEY_BYTES = 32;
const SIG_BYTES = 64;
/** Longest OpenSSH public key line we read (an Ed25519 line is ~100 characters; comments are short). */
const MAX_LINE = 2048;

export function publicKeyBlob(raw: Buffer): Buffer {
  if (raw.length !== KEY_BYTES) throw new CertificateFormatError(`an Ed25519 public key is ${KEY_BYTES} bytes, not ${raw.length}`);
  return Buffer.concat([str(ED25519), str(raw)]);
}

/** The raw 32-byte key of an Ed25519 public key blob; throws on anything else. */
export function readPublicKeyBlob(blob: Buffer, what = 'public key'): Buffer {
  return readEd25519Blob(blob, what, 'key', KEY_BYTES);
}

export function signatureBlob(sig: Buffer): Buffer {
  return Buffer.concat([str(ED25519), str(sig)]);
}

/** The 64 signature bytes of an Ed25519 signature blob; throws on anything else. */
export function readSignatureBlob(blob: Buffer, what = 'signature'): Buffer {
  return readEd25519Blob(blob, what, 'signature', SIG_BYTES);
}

/** string "ssh-ed25519", then exactly `size` bytes (a key or a signature), then nothing. */
function readEd25519Blob(blob: Buffer, what: string, field: 'key' | 'signature', size: number): Buffer {
  const r = new WireReader(blob, what);
  const algo = r.text(`${field} type`, 64);
  if (algo !== ED25519) throw new CertificateFormatError(`${what}: ${field} type ${algo} is not ${ED25519}`);
  const value = r.bytes(field, size);
  if (value.length !== size) throw new CertificateFormatError(`${what}: an Ed25519 ${field} is ${size} bytes`);
  r.end();
  return value;
}

export function nodePublicKey(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** The raw 32 bytes of a Node Ed25519 key (public, or the public half of a private one). */
export function rawPublicKey(key: KeyObject): Buffer {
  const jwk = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new CertificateFormatError('not an Ed25519 key');
  return Buffer.from(jwk.x, 'base64url');
}

export function ed25519Sign(privateKey: KeyObject, data: Buffer): Buffer {
  return sign(null, data, privateKey);
}

/** Never throws: a malformed key or signature is simply not valid. */
export function ed25519Verify(raw: Buffer, data: Buffer, sig: Buffer): boolean {
  try {
    return sig.length === SIG_BYTES && verify(null, data, nodePublicKey(raw), sig);
  } catch {
    return false;
  }
}

/**
 * One OpenSSH key line ("TYPE BASE64 [comment]"): its type and decoded blob. The type on the line
 * must match the one inside the blob (checked by the caller's blob reader).
 */
export function readKeyLine(line: string, what: string): { type: string; blob: Buffer } {
  const text = line.trim();
  if (text.length === 0 || text.length > MAX_LINE) throw new CertificateFormatError(`${what}: expected one OpenSSH key line`);
  const [type = '', b64 = ''] = text.split(/\s+/);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new CertificateFormatError(`${what}: the key is not base64`);
  return { type, blob: Buffer.from(b64, 'base64') };
}

/** "ssh-ed25519 AAAA..." from raw key bytes. */
export function publicKeyLine(raw: Buffer, comment = ''): string {
  return `${ED25519} ${publicKeyBlob(raw).toString('base64')}${comment ? ' ' + comment : ''}`;
}

/** The raw Ed25519 key of an OpenSSH public key line; refuses other key types with a clear message. */
export function readPublicKeyLine(line: string): Buffer {
  const { type, blob } = readKeyLine(line, 'public key');
  if (type !== ED25519) throw new CertificateFormatError(`public key: only ${ED25519} keys get certificates (this is ${type.slice(0, 64)})`);
  return readPublicKeyBlob(blob);
}
