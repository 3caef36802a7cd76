// Credential encryption: AES-256-GCM under the master key. A sealed value is
// "<format>.<keyId>.<iv>.<tag>.<ciphertext>" (base64url parts); keyId names the key so a key ring can
// decrypt values from before and after a rotation. The associated data binds each ciphertext to its
// row ("totp:<id>", "recording-key:<id>"; target credentials to where they may be sent, see
// target-binding.ts), so a ciphertext copied into another row does not decrypt.
// Formats: "v1" authenticates the caller's AAD as it is (every value sealed before issue 14);
// "v2" authenticates "v2\n" + AAD, so the format prefix itself is authenticated: relabelling a v2
// value as v1 (or the reverse) makes it fail, and a caller that asks for v2 never accepts a v1 value.
// Which format a caller accepts is the caller's decision, never the stored string's.
// Plaintext leaves this module only as a Buffer the caller wipes after use.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { PortcullisError } from '../util/errors.js';

export type SealFormat = 'v1' | 'v2';

export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 8);
}

export class Vault {
  private ring = new Map<string, Buffer>();
  private primary: string;

  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new PortcullisError('internal', 'vault needs a master key');
    for (const k of keys) this.ring.set(keyId(k), k);
    this.primary = keyId(keys[0]!);
  }

  get primaryKeyId(): string {
    return this.primary;
  }

  seal(plaintext: Buffer | string, aad: string, format: SealFormat = 'v1'): string {
    return sealWith(this.ring.get(this.primary)!, plaintext, aad, format);
  }

  /** Opens a value of exactly `format`; any other format is refused before decrypting. */
  open(sealed: string, aad: string, format: SealFormat = 'v1'): Buffer {
    const parts = sealed.split('.');
    if (parts.length !== 5 || (parts[0] !== 'v1' && parts[0] !== 'v2')) throw new PortcullisError('internal', 'sealed value has an unknown format');
    if (parts[0] !== format) throw new PortcullisError('internal', `sealed value is in format ${parts[0]}, where only ${format} is accepted`);
    const key = this.ring.get(parts[1]!);
    if (!key) throw new PortcullisError('internal', `sealed value uses key ${parts[1]} which this vault does not hold`);
    try {
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(parts[2]!, 'base64url'));
      d.setAAD(authenticated(aad, format));
      d.setAuthTag(Buffer.from(parts[3]!, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(parts[4]!, 'base64url')), d.final()]);
    } catch {
      // Never echo the value or the key: just say it failed.
      throw new PortcullisError('internal', 'sealed value failed authentication (wrong key or tampered)');
    }
  }

  /**
   * A key for one purpose, derived from the primary master key (HMAC-SHA-256 over the purpose), so
   * secrets that must never sit in the database need no file of their own and are the same on every
   * node. A key rotation changes it.
   */
  deriveKey(purpose: string): Buffer {
    return createHmac('sha256', this.ring.get(this.primary)!).update(`portcullis-derived-key\0${purpose}`).digest();
  }

  /** Whether this vault holds the key a sealed value names (it may still fail authentication). */
  holds(sealed: string): boolean {
    return this.ring.has(sealed.split('.')[1] ?? '');
  }

  /** Adds a key and makes it primary; older keys stay in the ring for reading. */
  usePrimary(key: Buffer): void {
    this.ring.set(keyId(key), key);
    this.primary = keyId(key);
  }

  setPrimary(id: string): void {
    if (!this.ring.has(id)) throw new PortcullisError('internal', `vault does not hold key ${id}`);
    this.primary = id;
  }

  /** Drops every key but the primary (after all values were re-sealed). */
  forgetOldKeys(): void {
    const p = this.ring.get(this.primary)!;
    this.ring = new Map([[this.primary, p]]);
  }
}

/** Formats after v1 put their own name in the authenticated data (v1 stays as it was sealed). */
function authenticated(aad: string, format: SealFormat): Buffer {
  return Buffer.from(format === 'v1' ? aad : `${format}\n${aad}`);
}

/** The format a sealed value claims (unauthenticated until it is opened with that format). */
export function formatOf(sealed: string): string {
  const dot = sealed.indexOf('.');
  return dot < 0 ? '' : sealed.slice(0, dot);
}

function sealWith(key: Buffer, plaintext: Buffer | string, aad: string, format: SealFormat): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(authenticated(aad, format));
  const ct = Buffer.concat([c.update(typeof plaintext === 'string' ? Buffer.from(plaintext) : plaintext), c.final()]);
  return [format, keyId(key), iv.toString('base64url'), c.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

export const aadFor = {
  /** The pre-issue-14 (v1) AAD of a target credential: its id only. Read once, by the binding migration. */
  legacyTarget: (id: string): string => `target:${id}`,
  totp: (id: string): string => `totp:${id}`,
  recordingKey: (id: string): string => `recording-key:${id}`,
  /**
   * An ephemeral account's login secret: bound to its intent-log row, its target and its name, so a
   * sealed secret copied onto another row (another grant's account) does not open.
   */
  ephemeral: (rowId: string, targetId: string, account: string): string => `ephemeral:${JSON.stringify([rowId, targetId, account])}`,
};
