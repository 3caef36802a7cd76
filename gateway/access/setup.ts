// First run: the one-time setup link that creates the first human admin in the browser.
// While the store has no human admin (a non-service user with role admin), each `serve` start
// makes a fresh 256-bit token, stores only its SHA-256 and expiry (the store's meta table, so any
// node of a cluster can check it) and hands the token to the caller to print on the terminal; the
// previous token stops working. Completing setup claims the token in the store's claims table
// inside the same transaction that creates the admin: of two browsers racing with one link, or two
// nodes, exactly one wins. Once a human admin exists every link answers "already set up".
// It does not: print or log anything (the token must reach only the terminal), or sign anyone in.
import { randomBytes } from 'node:crypto';
import { PortcullisError } from '../util/errors.js';
import { constantTimeEqual, sha256Hex } from '../util/ids.js';
import type { UserRecord } from '../store/records.js';
import type { AccessContext } from './context.js';
import { base32Decode, otpauthUri, verifyTotp } from './totp.js';
import type { UserService } from './users.js';

export const SETUP_TTL_MS = 3_600_000;
const META_KEY = 'setup.token';
/** 32 random bytes in base64url, nothing else: anything shorter or longer is refused unread. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export type SetupState = 'ready' | 'already-set-up' | 'expired' | 'invalid';

interface StoredToken { hash: string; expiresAt: number }

export interface SetupInput {
  name: string;
  password: string;
  /** The base32 secret the page showed (the page's own QR code); the code proves the phone has it. */
  totpSecret: string;
  code: string;
  addr: string;
}

export class SetupService {
  constructor(private readonly ctx: AccessContext, private readonly users: UserService) {}

  /** A human admin exists (disabled or not): setup is over for good. */
  async done(): Promise<boolean> {
    return (await this.ctx.store.users.list()).some((u) => isHumanAdmin(u));
  }

  /** At serve start: a new token (the old one stops working), or null when a human admin exists. */
  async start(): Promise<{ token: string; expiresAt: number } | null> {
    if (await this.done()) return null;
    const token = randomBytes(32).toString('base64url');
    const expiresAt = this.ctx.clock.now() + SETUP_TTL_MS;
    await this.ctx.store.meta.put(META_KEY, JSON.stringify({ hash: sha256Hex(token), expiresAt } satisfies StoredToken));
    return { token, expiresAt };
  }

  async state(token: string): Promise<SetupState> {
    if (await this.done()) return 'already-set-up';
    if (!TOKEN_SHAPE.test(token)) return 'invalid';
    const stored = parseStored(await this.ctx.store.meta.get(META_KEY));
    if (!stored || !constantTimeEqual(sha256Hex(token), stored.hash)) return 'invalid';
    return this.ctx.clock.now() >= stored.expiresAt ? 'expired' : 'ready';
  }

  /** Throws with the sentence the page shows when the link cannot be used. */
  async check(token: string): Promise<void> {
    const s = await this.state(token);
    if (s !== 'ready') throw refusal(s);
  }

  /** What the page shows next to the QR code: the otpauth URI for a secret it chose. */
  otpauth(name: string, secret: string): string {
    return otpauthUri('Portcullis', name, secret);
  }

  /** Creates the first admin (role admin) with password and one-time code, consuming the token. */
  async complete(token: string, input: SetupInput): Promise<UserRecord> {
    await this.check(token);
    let secret: Buffer;
    try {
      secret = base32Decode(input.totpSecret);
    } catch {
      throw new PortcullisError('bad-request', 'the one-time code secret is not base32; reload the page');
    }
    if (secret.length < 20) throw new PortcullisError('bad-request', 'the one-time code secret is too short (at least 160 bits); reload the page');
    if (input.password.length === 0) throw new PortcullisError('bad-request', 'a password is required');
    const step = verifyTotp(input.totpSecret, input.code.trim(), this.ctx.clock.now(), 0);
    if (step === null) throw new PortcullisError('bad-request', 'the one-time code does not match; type the code your authenticator app shows now (and check its clock)');
    const hash = sha256Hex(token);
    return this.ctx.store.transaction(async () => {
      // The claim is the single use: the first transaction to insert it wins on every node; a
      // failure below rolls it back, so a refused name or password leaves the link usable.
      if (!(await this.ctx.store.claims.claim(`setup:${hash}`, 'setup', this.ctx.clock.now()))) {
        throw new PortcullisError('conflict', 'this setup link has just been used; sign in instead');
      }
      // Again inside the transaction: an admin made meanwhile, or a restart that replaced the token.
      const now = await this.state(token);
      if (now !== 'ready') throw refusal(now);
      const user = await this.users.add('setup', { name: input.name, roles: ['admin'], kind: 'human', password: input.password, totpSecret: input.totpSecret });
      // The code just typed cannot sign in again (the same rule as every TOTP login).
      await this.ctx.store.users.advanceTotpStep(user.id, step);
      await this.ctx.audit.append('setup.completed', input.name, { user: input.name, addr: input.addr });
      return user;
    });
  }
}

export function isHumanAdmin(u: UserRecord): boolean {
  return u.kind !== 'service' && u.roles.includes('admin');
}

function refusal(s: Exclude<SetupState, 'ready'>): PortcullisError {
  switch (s) {
    case 'already-set-up': return new PortcullisError('conflict', 'Portcullis is already set up: sign in with your account (a new admin is added with "portcullis user add NAME --role admin")');
    case 'expired': return new PortcullisError('not-found', 'this setup link has expired (links last one hour); restart "portcullis serve" for a new one');
    case 'invalid': return new PortcullisError('not-found', 'this setup link is not valid (only the last link printed by "portcullis serve" works); restart it for a new one');
  }
}

function parseStored(text: string | undefined): StoredToken | null {
  if (text === undefined) return null;
  try {
    const v = JSON.parse(text) as Partial<StoredToken>;
    return typeof v.hash === 'string' && typeof v.expiresAt === 'number' ? { hash: v.hash, expiresAt: v.expiresAt } : null;
  } catch {
    return null;
  }
}
