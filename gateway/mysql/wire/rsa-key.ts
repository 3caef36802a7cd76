// The fingerprint that pins a MySQL server's RSA public key for password exchange without TLS:
// "sha256:" + lowercase hex of SHA-256 over the key's DER SubjectPublicKeyInfo. Takes a PEM in
// either form servers and tools print ("BEGIN PUBLIC KEY" or PKCS#1 "BEGIN RSA PUBLIC KEY").
// Does not fetch keys: a key a server sends is only ever compared with a pin, never trusted.
import { createHash, createPublicKey } from 'node:crypto';

/** The stored form, as `target add --mysql-rsa-fingerprint` takes it. */
export const RSA_FINGERPRINT_RE = /^sha256:[0-9a-f]{64}$/;

// A server's key arrives in an AuthMoreData packet; bound the PEM we parse.
const MAX_PEM = 16 * 1024;

/** The fingerprint of an RSA public key in PEM; throws on anything that is not one. */
export function rsaKeyFingerprint(pem: string): string {
  if (pem.length > MAX_PEM) throw new Error('public key too large');
  const key = createPublicKey({ key: pem, format: 'pem' });
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`not an RSA public key (${key.asymmetricKeyType ?? 'unknown type'})`);
  const der = key.export({ type: 'spki', format: 'der' });
  return 'sha256:' + createHash('sha256').update(der).digest('hex');
}
