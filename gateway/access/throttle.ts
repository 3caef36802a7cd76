// Login throttling, three failure budgets and one rate, all keyed by what an attacker controls:
// - pair: one name from one address (the owner mistyping: 5 failures lock that pair);
// - account: one name from any address (rotating addresses no longer gives more guesses);
// - address: one address (an IPv6 /64) under any name (rotating names no longer does either);
// - hashing rate: password hashes an address may cost per second, known to fail or not yet;
// - connection rate: new database connections per address, checked before TLS (a handshake costs
//   the main thread ~2 ms of RSA), together with the address lock.
// Unknown names get budgets exactly like real ones, so a lockout says nothing about who exists.
// The account lock stops password guesses only: a signed public-key login proves possession and
// still works, so the owner of an account under attack is not locked out of their key.
// A success clears only the pair: clearing the account or address budget would let an attacker
// with one valid login reset his budget between guesses. In memory, per node, bounded (see
// FailureBudget); a restart clears it. It audits nothing: the authenticator reports the locks.
// Several nodes: each node's failures are published and counted by every node (failElsewhere), so
// guesses spread over the nodes behind a load balancer hit the same budgets. Rates stay per node.
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { Clock } from '../util/clock.js';
import { type BudgetOptions, FailureBudget, KeyedRate } from './failure-budget.js';

export type LockScope = 'pair' | 'account' | 'address';

export interface Lock {
  scope: LockScope;
  until: number;
}

export interface ThrottleOptions {
  pairFailures: number;
  accountFailures: number;
  addressFailures: number;
  windowMs: number;
  lockMs: number;
  /** Password hashes one address may start per second, and at once. */
  addressHashRate: number;
  addressHashBurst: number;
  /** New connections one address may open per second, and at once (database listeners, before TLS). */
  addressConnectRate: number;
  addressConnectBurst: number;
  /**
   * New connections all addresses together may open per second (database listeners, before TLS):
   * each TLS handshake costs the event loop ~2 ms, so a flood from many addresses is bounded here
   * — new logins wait, live sessions do not.
   */
  connectRate: number;
  /** Keys each budget tracks at most. */
  maxKeys: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  pairFailures: 5, accountFailures: 20, addressFailures: 50, windowMs: 10 * 60_000, lockMs: 10 * 60_000,
  addressHashRate: 10, addressHashBurst: 20, addressConnectRate: 20, addressConnectBurst: 100, connectRate: 100, maxKeys: 50_000,
};

/** Whether the attempt proves a secret it could guess (password, code) or possession of a key. */
export type AttemptKind = 'password' | 'key';

export class LoginThrottle {
  private readonly pair: FailureBudget;
  private readonly account: FailureBudget;
  private readonly address: FailureBudget;
  private readonly hashes: KeyedRate;
  private readonly connections: KeyedRate;
  private readonly allConnections: KeyedRate;
  private readonly failureHooks: Array<(user: string, addr: string) => void> = [];

  constructor(private readonly clock: Clock, opts: Partial<ThrottleOptions> = {}) {
    const o = { ...DEFAULT_THROTTLE, ...opts };
    const budget = (failures: number): BudgetOptions => ({ failures, windowMs: o.windowMs, lockMs: o.lockMs, maxKeys: o.maxKeys });
    this.pair = new FailureBudget(clock, budget(o.pairFailures));
    this.account = new FailureBudget(clock, budget(o.accountFailures));
    this.address = new FailureBudget(clock, budget(o.addressFailures));
    this.hashes = new KeyedRate(clock, o.addressHashRate, o.addressHashBurst, o.maxKeys);
    this.connections = new KeyedRate(clock, o.addressConnectRate, o.addressConnectBurst, o.maxKeys);
    // A small burst on purpose: handshakes let in together run back to back on the event loop (a
    // burst of 200 showed as 100-170 ms runs of TLS work in a CPU profile), so they are spread out.
    this.allConnections = new KeyedRate(clock, o.connectRate, Math.max(10, Math.floor(o.connectRate / 5)), 1);
  }

  /** The address's own lock, if any (what can be refused before knowing a name). */
  addressLock(addr: string): Lock | null {
    const ms = this.address.lockedFor(addressKey(addr));
    return ms > 0 ? { scope: 'address', until: this.clock.now() + ms } : null;
  }

  /** Takes one new connection from the address's rate and the global one; which was over, or null. */
  admitConnection(addr: string): 'address' | 'all' | null {
    if (!this.connections.take(addressKey(addr))) return 'address';
    return this.allConnections.take('') ? null : 'all';
  }

  /** The lock that refuses this attempt now (the one that lasts longest), or null. */
  check(user: string, addr: string, kind: AttemptKind = 'password'): Lock | null {
    const now = this.clock.now();
    let lock: Lock | null = null;
    const consider = (scope: LockScope, ms: number): void => {
      if (ms > 0 && (!lock || now + ms > lock.until)) lock = { scope, until: now + ms };
    };
    consider('pair', this.pair.lockedFor(pairKey(user, addr)));
    if (kind === 'password') consider('account', this.account.lockedFor(userKey(user)));
    consider('address', this.address.lockedFor(addressKey(addr)));
    return lock;
  }

  /** Milliseconds until this name may try again from this address (any scope), or 0. */
  lockedFor(user: string, addr: string): number {
    const lock = this.check(user, addr);
    return lock ? lock.until - this.clock.now() : 0;
  }

  /** Records a failure against every budget; returns the locks it started (each reported once). */
  fail(user: string, addr: string): Lock[] {
    const started = this.count(user, addr);
    for (const fn of this.failureHooks) {
      try {
        fn(user, addr);
      } catch {
        // Telling the other nodes is best effort; the local count stands.
      }
    }
    return started;
  }

  /**
   * A failure another node saw (several nodes share one set of budgets this way): counted like a
   * local one, but not reported again. Locks it starts refuse logins here; the node that saw the
   * failure reports them.
   */
  failElsewhere(user: string, addr: string): void {
    this.count(user, addr);
  }

  /** Called with every local failure (the cluster publishes it to the other nodes). */
  onFailure(fn: (user: string, addr: string) => void): void {
    this.failureHooks.push(fn);
  }

  private count(user: string, addr: string): Lock[] {
    const started: Lock[] = [];
    const add = (scope: LockScope, until: number | null): void => { if (until !== null) started.push({ scope, until }); };
    add('pair', this.pair.fail(pairKey(user, addr)));
    add('account', this.account.fail(userKey(user)));
    add('address', this.address.fail(addressKey(addr)));
    return started;
  }

  /** Failed logins of this name from any address within the failure window (every node's, see failElsewhere). */
  recentFailures(user: string): number {
    return this.account.recent(userKey(user));
  }

  succeed(user: string, addr: string): void {
    this.pair.clear(pairKey(user, addr));
  }

  /** Takes one password hash from the address's rate; false when it is over (refuse, don't hash). */
  admitHash(addr: string): boolean {
    return this.hashes.take(addressKey(addr));
  }

  /** Keys tracked, for the metrics (bounded by maxKeys each). */
  get tracked(): number {
    return this.pair.size + this.account.size + this.address.size + this.hashes.size + this.connections.size;
  }
}

/** Names are case-insensitive; a long one is kept as its digest so keys stay small. */
function userKey(user: string): string {
  const u = user.toLowerCase();
  return u.length <= 64 ? u : 'sha256:' + createHash('sha256').update(u).digest('base64');
}

function pairKey(user: string, addr: string): string {
  return `${userKey(user)}\u0000${addressKey(addr)}`;
}

/**
 * IPv4 as is (also when mapped into IPv6); IPv6 by its /64, since one host or site usually holds a
 * whole /64 and could otherwise rotate through 2^64 addresses.
 */
export function addressKey(addr: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  if (mapped) return mapped[1]!;
  if (isIPv4(addr)) return addr;
  if (!isIPv6(addr)) return addr.slice(0, 64);
  return ipv6Prefix64(addr);
}

function ipv6Prefix64(addr: string): string {
  const bare = addr.split('%')[0]!;
  const [head = '', tail] = bare.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return groups.slice(0, 4).map((g) => (g.includes('.') ? g : Number.parseInt(g || '0', 16).toString(16))).join(':') + '::/64';
}
