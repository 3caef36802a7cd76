// Password hashing with scrypt (N=2^15, r=8, p=1; ~50 ms on this machine's class of CPU).
// Format "scrypt$N$r$p$salt$hash" so parameters can be raised later without breaking old hashes.
import { randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto';
import { PortcullisError } from '../util/errors.js';
import { constantTimeEqual } from '../util/ids.js';

const N = 1 << 15;
const R = 8;
const P = 1;
const KEYLEN = 32;
const MAXMEM = 128 * N * R * 2;

// scrypt runs on libuv's thread pool (4 threads), which file writes — recordings, the log — share.
// Unbounded, a flood of unauthenticated logins under fresh user names (the throttle is per user and
// address) held every thread and delayed the gateway's log by seconds in the fuzz run, at 32 MB of
// scrypt memory each. At most two hashes run at once; a bounded queue waits; beyond it, refuse.
const MAX_RUNNING = 2;
const MAX_WAITING = 256;
let running = 0;
const waiting: Array<() => void> = [];

/** A slot to hash in; a waiter is handed the slot of the hash that ends. */
async function acquire(): Promise<void> {
  if (running < MAX_RUNNING) {
    running++;
    return;
  }
  if (waiting.length >= MAX_WAITING) throw new PortcullisError('unavailable', 'too many logins in progress; try again shortly');
  await new Promise<void>((r) => waiting.push(r));
}

function release(): void {
  const next = waiting.shift();
  if (next) next();
  else running--;
}

async function scrypt(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  await acquire();
  try {
    return await new Promise((resolve, reject) => {
      scryptCb(password, salt, KEYLEN, opts, (err, key) => (err ? reject(err) : resolve(key)));
    });
  } finally {
    release();
  }
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, { N, r: R, p: P, maxmem: MAXMEM });
  return ['scrypt', N, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

// Used when the user does not exist, so "no such user" costs the same time as "wrong password".
const DUMMY = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parts = (stored ?? DUMMY).split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const expected = Buffer.from(parts[5]!, 'base64');
  const key = await scrypt(password, Buffer.from(parts[4]!, 'base64'), { N: n, r, p, maxmem: 128 * n * r * 2 });
  return constantTimeEqual(key, expected) && stored !== null;
}
