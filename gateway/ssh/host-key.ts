// OpenSSH-style host key fingerprints ("SHA256:<base64, no padding>"), the form targets are pinned
// with, and the gateway's own host key pair for `init`. Used by the upstream leg, the login probe
// and init; it does not decide whether a key is trusted.
import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';

export function fingerprint(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

export interface KeyPair { private: string; public: string }

const generateEd25519 = (): KeyPair => ssh2.utils.generateKeyPairSync('ed25519');

/**
 * A new ed25519 host key pair that ssh2 can read back. ssh2 1.17 writes about 3 in 1,000 of the
 * keys it generates in a form its own parser rejects ("Malformed OpenSSH private key"), and `serve`
 * would then fail at start; such a key is thrown away and another made.
 */
export function newHostKeyPair(generate: () => KeyPair = generateEd25519): KeyPair {
  for (let i = 0; i < 20; i++) {
    const kp = generate();
    if (!(ssh2.utils.parseKey(kp.private) instanceof Error)) return kp;
  }
  throw new Error('could not generate a readable SSH host key');
}
