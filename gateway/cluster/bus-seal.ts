// Signed envelopes for the cluster bus. Any role that can CONNECT to the store's database can
// NOTIFY on its channel, and LISTEN to it: without a signature it could cut every session of the
// cluster (user.ended for each name), lock any address or account out of every node (login.failed
// naming the admin's address), or fill the logs. Every node holds the cluster's audit key (shared
// through store.meta, sealed under the master key; it never changes, unlike the master key during a
// rotation), so the bus key is derived from it: a database role without the master key cannot sign.
// A listener can still record a signed message and send it again: each carries a nonce and its send
// time, and a receiver drops a nonce it has seen and anything sent outside the freshness window.
// The window is wide on purpose (node clocks differ); nonces are kept for as long as the window.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../util/clock.js';

const LABEL = 'portcullis cluster bus v1';
/** How far a message's send time may be from the receiver's clock, either way. */
export const BUS_WINDOW_MS = 120_000;
/** Nonces remembered at most (legitimate traffic only: a message with a bad signature is never kept). */
const MAX_NONCES = 200_000;

export function deriveBusKey(auditKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', auditKey, Buffer.alloc(0), LABEL, 32));
}

/** The wire form: the message as a string, so the signature covers the exact bytes that are parsed. */
interface Envelope {
  from: string;
  at: number;
  n: string;
  body: string;
  mac: string;
}

export type Opened = { ok: true; from: string; body: string } | { ok: false; reason: string };

export class BusSeal {
  private readonly seen = new Map<string, number>();

  constructor(private readonly key: Buffer, private readonly clock: Clock) {}

  seal(from: string, body: string): string {
    const at = this.clock.now();
    const n = randomBytes(12).toString('base64url');
    return JSON.stringify({ from, at, n, body, mac: this.mac(from, at, n, body) } satisfies Envelope);
  }

  /** Checks signature, freshness and replay; the body is returned only when all three pass. */
  open(o: Record<string, unknown>): Opened {
    const { from, at, n, body, mac } = o;
    if (typeof from !== 'string' || typeof at !== 'number' || !Number.isFinite(at) || typeof n !== 'string' || n.length > 32
      || typeof body !== 'string' || typeof mac !== 'string') return { ok: false, reason: 'unsigned' };
    const want = Buffer.from(this.mac(from, at, n, body), 'base64url');
    const got = Buffer.from(mac, 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, reason: 'bad signature' };
    const now = this.clock.now();
    if (Math.abs(now - at) > BUS_WINDOW_MS) return { ok: false, reason: 'outside the freshness window' };
    this.forgetBefore(now - BUS_WINDOW_MS);
    if (this.seen.has(n)) return { ok: false, reason: 'replayed' };
    this.seen.set(n, at);
    if (this.seen.size > MAX_NONCES) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
    return { ok: true, from, body };
  }

  /** Nonces kept now (tests: bounded). */
  get remembered(): number {
    return this.seen.size;
  }

  private mac(from: string, at: number, n: string, body: string): string {
    return createHmac('sha256', this.key).update(`${from}\n${at}\n${n}\n${body}`).digest('base64url');
  }

  /** Insertion order is close to send order: stop at the first nonce still inside the window. */
  private forgetBefore(t: number): void {
    for (const [n, at] of this.seen) {
      if (at >= t) break;
      this.seen.delete(n);
    }
  }
}
