// Whether a user certificate may log in, as far as the certificate itself says: a user (not host)
// certificate, signed by exactly our CA key with a valid signature, naming the login's user as a
// principal, inside its validity at `now`, with no critical option (we honour none, so any one
// would be a restriction we silently ignored: refused), and a key id of ours naming the same user.
// Whether the sign-in it came from is still valid needs the store: the caller checks that with the
// token id returned here. Pure: no clock, no I/O.
import { type Certificate, readCertificate, USER_CERT } from './certificate.js';
import { ed25519Verify, readPublicKeyBlob, readSignatureBlob } from './ed25519.js';
import { CertificateFormatError } from './wire.js';

const KEY_ID_PREFIX = 'portcullis';

/** The key id of a certificate issued for `user` from the sign-in (API token) `tokenId`. */
export function keyIdFor(user: string, tokenId: string): string {
  return `${KEY_ID_PREFIX}:${user}:${tokenId}`;
}

/** The user and token id of one of our key ids; null for anything else. */
export function parseKeyId(keyId: string): { user: string; tokenId: string } | null {
  const m = /^portcullis:([A-Za-z0-9][A-Za-z0-9._-]{0,63}):(tok_[A-Za-z0-9_-]{1,64})$/.exec(keyId);
  return m ? { user: m[1]!, tokenId: m[2]! } : null;
}

export type CertificateVerdict =
  | { ok: true; cert: Certificate; tokenId: string }
  | { ok: false; reason: CertificateRefusal };

export type CertificateRefusal =
  | 'malformed' | 'not-user-certificate' | 'unknown-ca' | 'bad-ca-signature' | 'wrong-principal'
  | 'not-yet-valid' | 'expired' | 'critical-option' | 'foreign-key-id';

export interface VerifyInput {
  blob: Buffer;
  /** Our user CA's public key blob. */
  caBlob: Buffer;
  /** The SSH login's user (the part before '+'). */
  user: string;
  nowMs: number;
}

export function verifyUserCertificate(v: VerifyInput): CertificateVerdict {
  let cert: Certificate;
  try {
    cert = readCertificate(v.blob);
  } catch (err) {
    if (err instanceof CertificateFormatError) return { ok: false, reason: 'malformed' };
    throw err;
  }
  if (cert.type !== USER_CERT) return { ok: false, reason: 'not-user-certificate' };
  // Exact bytes: the CA is recognised by its key, never by a name or fingerprint the certificate carries.
  if (!cert.signatureKey.equals(v.caBlob)) return { ok: false, reason: 'unknown-ca' };
  let caSignature: Buffer;
  try {
    caSignature = readSignatureBlob(cert.signature, 'CA signature');
  } catch {
    return { ok: false, reason: 'bad-ca-signature' };
  }
  if (!ed25519Verify(readPublicKeyBlob(v.caBlob, 'user CA'), cert.signed, caSignature)) return { ok: false, reason: 'bad-ca-signature' };
  if (!cert.principals.includes(v.user)) return { ok: false, reason: 'wrong-principal' };
  const now = BigInt(Math.floor(v.nowMs / 1000));
  if (now < cert.validAfter) return { ok: false, reason: 'not-yet-valid' };
  if (now >= cert.validBefore) return { ok: false, reason: 'expired' };
  if (cert.criticalOptions.length > 0) return { ok: false, reason: 'critical-option' };
  const id = parseKeyId(cert.keyId);
  if (!id || id.user !== v.user) return { ok: false, reason: 'foreign-key-id' };
  return { ok: true, cert, tokenId: id.tokenId };
}

/**
 * The client's proof of possession: `signature` is the whole SSH signature blob (ssh2 passes it
 * through unstripped for certificate algorithms), over `signed` (session id + the request).
 */
export function verifyClientSignature(cert: Certificate, signed: Buffer, signature: Buffer): boolean {
  try {
    return ed25519Verify(cert.publicKey, signed, readSignatureBlob(signature, 'client signature'));
  } catch {
    return false;
  }
}
