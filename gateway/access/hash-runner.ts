// Where every password hash runs: off the event loop, in worker threads of its own (as many as
// `concurrency`, 2 by default) that lower their own CPU priority to nice 19 at start. On a busy
// machine the hashes then take only CPU the event loop does not want: with libuv's thread pool at
// normal priority, two hashing threads took their full share of two cores from the main thread and
// a live psql session's round trips went from ~4 ms to ~80 ms under a login flood. libuv's 4
// threads stay for file writes (recordings, post-close work). Two queues: work for someone already
// signed in (an admin setting a password, `db-password`, the verifier backfill after a login) goes
// first; pre-auth work (a login being checked) waits in a short bounded queue and past it is
// refused at once — a flood of bogus logins then costs a refusal, not a stall or unbounded memory.
// It knows nothing about users, addresses or budgets (throttle.ts).
import { Worker } from 'node:worker_threads';
import { PortcullisError } from '../util/errors.js';

export type HashPriority = 'pre-auth' | 'signed-in';

export interface HashLimits {
  /** Hashes running at once (each in a worker thread of its own). */
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

type HashTask =
  | { kind: 'scrypt'; password: string | Buffer; salt: Buffer; keylen: number; opts: { N: number; r: number; p: number; maxmem: number } }
  | { kind: 'pbkdf2'; password: string | Buffer; salt: Buffer; iterations: number; keylen: number };

// CommonJS, evaluated: no file to find from src/ (vitest) or dist/ alike. A thread's nice value is
// its own on Linux; elsewhere the call fails and the worker runs at normal priority.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { pbkdf2Sync, scryptSync } = require('node:crypto');
try { require('node:os').setPriority(Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()), 19); } catch {}
parentPort.on('message', (t) => {
  try {
    const key = t.kind === 'scrypt' ? scryptSync(t.password, t.salt, t.keylen, t.opts) : pbkdf2Sync(t.password, t.salt, t.iterations, t.keylen, 'sha256');
    parentPort.postMessage({ key });
  } catch (e) {
    parentPort.postMessage({ error: String((e && e.message) || e) });
  }
});`;

/** Idle hashing threads; one is taken per running hash (the runner bounds how many run). */
const idle: Worker[] = [];

function spawnWorker(): Worker {
  const w = new Worker(WORKER_SOURCE, { eval: true });
  // Never keeps the gateway from exiting.
  w.unref();
  return w;
}

function inWorker(task: HashTask): Promise<Buffer> {
  const w = idle.pop() ?? spawnWorker();
  return new Promise<Buffer>((resolve, reject) => {
    const onMessage = (m: { key?: Uint8Array; error?: string }): void => {
      w.off('error', onError);
      idle.push(w);
      if (m.key) resolve(Buffer.from(m.key.buffer, m.key.byteOffset, m.key.byteLength));
      else reject(new Error(m.error ?? 'hashing failed'));
    };
    // A thread that died is not reused; the next task starts a new one.
    const onError = (err: Error): void => { w.off('message', onMessage); reject(err); };
    w.once('message', onMessage);
    w.once('error', onError);
    w.postMessage(task);
  });
}

export function scryptAsync(priority: HashPriority, password: string | Buffer, salt: Buffer, keylen: number, opts: { N: number; r: number; p: number; maxmem: number }): Promise<Buffer> {
  return hashing.run(priority, () => inWorker({ kind: 'scrypt', password, salt, keylen, opts }));
}

export function pbkdf2Sha256(priority: HashPriority, password: string | Buffer, salt: Buffer, iterations: number, keylen: number): Promise<Buffer> {
  return hashing.run(priority, () => inWorker({ kind: 'pbkdf2', password, salt, iterations, keylen }));
}
