// Decoy credentials for names that cannot log in with a database password (no such user, no
// verifier, a one-time code without a grant's database password, no mysql_native_password opt-in),
// so that a login exchange looks and costs the same whatever the name. Each name gets its own
// SCRAM salt, iteration count and keys, derived with HMAC-SHA-256 from a key the vault derives from
// the master key (never stored): stable across restarts and nodes (like a real user's salt), different
// for every name (unlike one shared fake salt, which marks every name that shows it as unknown), and
// impossible to tell from a real verifier without the key. Does not decide who may log in: a decoy is
// marked and never accepted, whatever proof a client sends.
import { createHmac } from 'node:crypto';
import { SCRAM_ITERATIONS, type ScramKeys } from './scram-verifier.js';
import { base32Encode } from './totp.js';

/** ScramKeys that no proof may pass; `decoy` makes that explicit rather than relying on the math. */
export interface DecoyScramKeys extends ScramKeys {
  decoy: true;
}

export class LoginDecoys {
  constructor(private readonly key: Buffer) {
    if (key.length < 32) throw new Error('login decoy key too short');
  }

  private part(label: string, name: string): Buffer {
    // The label and the name are NUL-separated: no name can make one part collide with another's.
    return createHmac('sha256', this.key).update(`portcullis-login-decoy\0${label}\0${name}`).digest();
  }

  /** The SCRAM keys a real verifier for `name` would carry: 16-byte salt, today's iteration count. */
  scramKeys(name: string): DecoyScramKeys {
    return {
      // Same length as makeScramVerifier's random salt, so the base64 has the same shape.
      salt: this.part('salt', name).subarray(0, 16),
      // One iteration count for real verifiers too (SCRAM_ITERATIONS); if that is ever raised, old
      // and new verifiers mix and a decoy should follow the newest, as a new user would.
      iterations: SCRAM_ITERATIONS,
      storedKey: this.part('stored-key', name),
      serverKey: this.part('server-key', name),
      decoy: true,
    };
  }

  /** The same as a PostgreSQL verifier string, for checks that take one (cleartext over TLS). */
  scramVerifier(name: string): string {
    const k = this.scramKeys(name);
    return `SCRAM-SHA-256$${k.iterations}:${k.salt.toString('base64')}$${k.storedKey.toString('base64')}:${k.serverKey.toString('base64')}`;
  }

  /** A TOTP secret (base32) to check a code against when there is no user to check it for. */
  totpSecret(name: string): string {
    return base32Encode(this.part('totp', name).subarray(0, 20));
  }

  /** A SHA1(SHA1(password))-shaped value: a native check runs the same SHA-1s against it and fails. */
  nativeVerifier(name: string): string {
    return this.part('native', name).subarray(0, 20).toString('hex');
  }
}

export function isDecoy(keys: ScramKeys): keys is DecoyScramKeys {
  return (keys as Partial<DecoyScramKeys>).decoy === true;
}
