// Login secrets the PostgreSQL provisioner makes: a random password, written straight into a
// Buffer the caller wipes (never a JS string, which cannot be wiped), and the SCRAM-SHA-256 verifier
// of a password, computed here so that only the verifier is sent to the target (the plaintext never
// reaches its statement logs, pg_stat_statements or pg_stat_activity). PostgreSQL stores a verifier
// given as PASSWORD '...' as is. SASLprep is not applied: the passwords made here are ASCII, where
// it changes nothing, and PostgreSQL falls back to the raw bytes when normalization fails.
import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';

/** PostgreSQL's default scram_iterations; the passwords are 256 random bits, so more buys nothing. */
export const VERIFIER_ITERATIONS = 4096;

const BASE64URL = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', 'latin1');

/** 32 random bytes as base64url text (43 characters), in a Buffer; the raw bytes are wiped. */
export function randomPassword(): Buffer {
  const raw = randomBytes(32);
  const out = Buffer.alloc(Math.ceil((raw.length * 8) / 6));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const byte of raw) {
    acc = ((acc << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out[o++] = BASE64URL[(acc >> bits) & 0x3f]!;
    }
  }
  if (bits > 0) out[o++] = BASE64URL[(acc << (6 - bits)) & 0x3f]!;
  raw.fill(0);
  acc = 0;
  return out;
}

/** "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>" of `password`; PBKDF2 off the event loop. */
export async function scramVerifierOf(password: Buffer, iterations = VERIFIER_ITERATIONS): Promise<string> {
  const salt = randomBytes(16);
  const salted = await new Promise<Buffer>((resolve, reject) => {
    pbkdf2(password, salt, iterations, 32, 'sha256', (err, key) => (err ? reject(err) : resolve(key)));
  });
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  // The salted password and the client key are password equivalents: they do not outlive this call.
  salted.fill(0);
  clientKey.fill(0);
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
