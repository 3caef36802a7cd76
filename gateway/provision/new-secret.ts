// Fresh secrets for rotating a static credential, of the same kind as the vaulted one: a password
// of 32 random bytes in base64url (43 characters any target accepts, nothing to escape), or a fresh
// Ed25519 key in OpenSSH format with its public line (for the target's authorized_keys). Also reads
// the public line back from a private key, for a rotation that resumes after a crash.
import { randomBytes } from 'node:crypto';
import ssh2, { type ParsedKey } from 'ssh2';
import type { CredentialKind } from '../store/records.js';

export interface NewSecret {
  /** The password, or the OpenSSH private key text; the caller seals it and wipes it. */
  secret: Buffer;
  /** Keys: the OpenSSH public key line ("ssh-ed25519 AAAA..."); null for passwords. */
  publicKey: string | null;
}

export function newSecretLike(kind: CredentialKind): NewSecret {
  if (kind === 'password') {
    const raw = randomBytes(32);
    const secret = Buffer.from(raw.toString('base64url'));
    raw.fill(0);
    return { secret, publicKey: null };
  }
  const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'portcullis-rotated' });
  return { secret: Buffer.from(pair.private), publicKey: publicLine(pair.public) };
}

/** The OpenSSH public line of a private key ("type base64"), or null when it does not parse. */
export function publicKeyOf(privateKey: Buffer): string | null {
  const parsed: ParsedKey | Error = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) return null;
  return `${parsed.type} ${parsed.getPublicSSH().toString('base64')}`;
}

/** "type base64" without the comment: what retireOldKey compares against. */
function publicLine(line: string): string {
  return line.trim().split(/\s+/).slice(0, 2).join(' ');
}
