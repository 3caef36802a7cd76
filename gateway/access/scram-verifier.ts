// SCRAM-SHA-256 verifiers (RFC 5802/7677), in PostgreSQL's own format
// "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>". Like a password hash, a verifier
// proves nothing by itself; a client must still show it knows the password. Kept beside the scrypt
// hash because SCRAM needs its own derivation. The PBKDF2 runs in hash-runner.ts, off the event
// loop (16,384 rounds cost ~9-12 ms of CPU: on the main thread ~100 bogus logins a second stalled
// every session); only the gateway's own upstream login still derives synchronously (see below).
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { type HashPriority, pbkdf2Sha256 } from './hash-runner.js';

export const SCRAM_ITERATIONS = 16384;

export interface ScramKeys {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

export function scramKeysFromSalted(salted: Buffer): { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer } {
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  return {
    clientKey,
    storedKey: createHash('sha256').update(clientKey).digest(),
    serverKey: createHmac('sha256', salted).update('Server Key').digest(),
  };
}

export function saltedPassword(password: string, salt: Buffer, iterations: number, priority: HashPriority): Promise<Buffer> {
  // SASLprep is skipped: PostgreSQL falls back to the raw bytes too when normalization fails.
  return pbkdf2Sha256(priority, Buffer.from(password, 'utf8'), salt, iterations, 32);
}

/**
 * The same, on the calling thread: only for the gateway's SCRAM client logging in to a target (an
 * authenticated user's session, not pre-auth work; the iteration count is the target's).
 */
export function saltedPasswordSync(password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
}

/** A new verifier for a password someone signed in just set or proved. */
export async function makeScramVerifier(password: string, iterations = SCRAM_ITERATIONS): Promise<string> {
  const salt = randomBytes(16);
  const { storedKey, serverKey } = scramKeysFromSalted(await saltedPassword(password, salt, iterations, 'signed-in'));
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** SHA1(SHA1(password)) in hex: what mysql_native_password needs (like MySQL's own storage). */
export function nativeVerifier(password: string): string {
  const once = createHash('sha1').update(Buffer.from(password, 'utf8')).digest();
  return createHash('sha1').update(once).digest('hex');
}

/**
 * Whether `password` matches a SCRAM verifier (logins that received the password itself). Pre-auth:
 * may be refused with `unavailable` when hashing is saturated.
 */
export async function scramMatches(password: string, verifier: string): Promise<boolean> {
  const k = parseScramVerifier(verifier);
  if (!k) return false;
  const { storedKey } = scramKeysFromSalted(await saltedPassword(password, k.salt, k.iterations, 'pre-auth'));
  return storedKey.equals(k.storedKey);
}

export function parseScramVerifier(v: string): ScramKeys | null {
  const m = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(v);
  if (!m) return null;
  return { iterations: Number(m[1]), salt: Buffer.from(m[2]!, 'base64'), storedKey: Buffer.from(m[3]!, 'base64'), serverKey: Buffer.from(m[4]!, 'base64') };
}
