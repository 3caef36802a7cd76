// Where every password hash runs: off the event loop, on libuv's thread pool (node:crypto's async
// scrypt and pbkdf2), at most `concurrency` at once across the whole process. The pool has 4
// threads by default (UV_THREADPOOL_SIZE) and asynchronous file writes (recordings, post-close
// work) share it, so hashing holds 2 of them by default and never all.
// Two queues: work for someone already signed in (an admin setting a password, `db-password`, the
// verifier backfill after a login) goes first; pre-auth work (a login being checked) waits in a
// short bounded queue and past it is refused at once — a flood of bogus logins then costs a refusal,
// not a stall or unbounded memory. It knows nothing about users, addresses or budgets (throttle.ts).
import { pbkdf2, scrypt, type ScryptOptions } from 'node:crypto';
import { PortcullisError } from '../util/errors.js';

export type HashPriority = 'pre-auth' | 'signed-in';

export interface HashLimits {
  /** Hashes running at once (each holds one libuv thread). */
  concurrency: number;
  /** Pre-auth hashes waiting for a slot; one more is refused. */
  maxWaiting: number;
}

export const DEFAULT_HASH_LIMITS: HashLimits = { concurrency: 2, maxWaiting: 64 };

// Signed-in work is bounded too, but generously: it cannot come from outside.
const MAX_SIGNED_IN_WAITING = 1024;

export class HashRunner {
  private running = 0;
  private readonly waiting: Record<HashPriority, Array<() => void>> = { 'signed-in': [], 'pre-auth': [] };
  /** Pre-auth hashes refused because the queue was full (a metric). */
  refused = 0;

  constructor(private limits: HashLimits = DEFAULT_HASH_LIMITS) {}

  configure(limits: HashLimits): void {
    if (!(limits.concurrency >= 1) || !(limits.maxWaiting >= 0)) throw new Error('hashing needs at least one slot');
    this.limits = limits;
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting['pre-auth'].length + this.waiting['signed-in'].length;
  }

  async run<T>(priority: HashPriority, job: () => Promise<T>): Promise<T> {
    await this.acquire(priority);
    try {
      return await job();
    } finally {
      this.release();
    }
  }

  private async acquire(priority: HashPriority): Promise<void> {
    if (this.running < this.limits.concurrency) {
      this.running++;
      return;
    }
    const queue = this.waiting[priority];
    if (queue.length >= (priority === 'pre-auth' ? this.limits.maxWaiting : MAX_SIGNED_IN_WAITING)) {
      if (priority === 'pre-auth') this.refused++;
      throw new PortcullisError('unavailable', 'too many logins in progress; try again in a few seconds');
    }
    await new Promise<void>((resolve) => queue.push(resolve));
  }

  /** A waiter is handed the slot of the hash that ended; signed-in work first. */
  private release(): void {
    const next = this.waiting['signed-in'].shift() ?? this.waiting['pre-auth'].shift();
    if (next) next();
    else this.running--;
  }
}

/** The process's one runner (the cap is global); serve configures it from `logins.*`. */
export const hashing = new HashRunner();

export function scryptAsync(priority: HashPriority, password: string | Buffer, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return hashing.run(priority, () => new Promise<Buffer>((resolve, reject) => {
    scrypt(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key)));
  }));
}

export function pbkdf2Sha256(priority: HashPriority, password: string | Buffer, salt: Buffer, iterations: number, keylen: number): Promise<Buffer> {
  return hashing.run(priority, () => new Promise<Buffer>((resolve, reject) => {
    pbkdf2(password, salt, iterations, keylen, 'sha256', (err, key) => (err ? reject(err) : resolve(key)));
  }));
}
