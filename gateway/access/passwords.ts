// Password hashing with scrypt (N=2^15, r=8, p=1; ~50 ms on this machine's class of CPU).
// Format "scrypt$N$r$p$salt$hash" so parameters can be raised later without breaking old hashes.
// The hashing itself runs in hash-runner.ts: off the event loop, capped process-wide, and a login
// being checked (pre-auth) waits in a bounded queue or is refused, never blocks.
import { randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../util/ids.js';
import { scryptAsync } from './hash-runner.js';

const N = 1 << 15;
const R = 8;
const P = 1;
const KEYLEN = 32;
const MAXMEM = 128 * N * R * 2;

/** Hashes a new password (someone signed in sets it: an admin, or the user). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync('signed-in', password, salt, KEYLEN, { N, r: R, p: P, maxmem: MAXMEM });
  return ['scrypt', N, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

// Used when the user does not exist, so "no such user" costs the same time as "wrong password".
const DUMMY = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

/** Checks a login's password (pre-auth: may be refused with `unavailable` when hashing is saturated). */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parts = (stored ?? DUMMY).split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const expected = Buffer.from(parts[5]!, 'base64');
  const key = await scryptAsync('pre-auth', password, Buffer.from(parts[4]!, 'base64'), KEYLEN, { N: n, r, p, maxmem: 128 * n * r * 2 });
  return constantTimeEqual(key, expected) && stored !== null;
}
