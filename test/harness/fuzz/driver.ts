// Sends one fuzz input to a listener, the way a hostile client would: a TCP connection from its own
// loopback address (so the gateway's log lines for it can be found by address), optionally a real
// TLS session first (HTTP inputs), then each flight — waiting briefly for the gateway's answer where
// the captured client did — whole, split at random points, or a byte at a time; then it half-closes,
// waits, resets or stalls. Reports who closed the connection and how long it took. Never throws.
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { FuzzInput } from './mutate.js';
import { Prng } from './prng.js';

/**
 * gateway: the gateway closed before the client ended (it refused, or timed out);
 * client-eof: the client half-closed and the gateway then closed; client: the client gave up on a
 * connection the gateway kept open; reset: the gateway reset it; connect-failed: no connection.
 */
export type ClosedBy = 'gateway' | 'client-eof' | 'client' | 'reset' | 'connect-failed';

export interface Outcome {
  closedBy: ClosedBy;
  ms: number;
  bytesIn: number;
  error?: string;
}

export interface DriveOptions {
  host: string;
  port: number;
  localAddress: string;
  /** How long a `wait` ending waits for the gateway to close before giving up. */
  waitMs: number;
  /** How long a `half-close` or `stall` ending waits for the gateway to close. */
  closeWaitMs: number;
  stallMs: number;
  /** How long to wait for the gateway's answer before a flight the client sent after one. */
  replyWaitMs: number;
  /** The run's seed, for the split points. */
  seed: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function drive(input: FuzzInput, o: DriveOptions): Promise<Outcome> {
  const t0 = Date.now();
  const raw = tcpConnect({ host: o.host, port: o.port, localAddress: o.localAddress });
  raw.setNoDelay(true);
  const state = { closed: false, gatewayFirst: false, reset: false, error: undefined as string | undefined, bytesIn: 0, clientEnded: false };
  let halfClosed = false;
  let onChange: (() => void) | null = null;
  const changed = (): void => { const f = onChange; onChange = null; f?.(); };
  const until = (cond: () => boolean, ms: number): Promise<void> => new Promise((resolve) => {
    if (cond()) return resolve();
    const timer = setTimeout(() => { onChange = null; resolve(); }, ms);
    const check = (): void => { if (cond()) { clearTimeout(timer); resolve(); } else onChange = check; };
    onChange = check;
  });
  const connected = await new Promise<boolean>((resolve) => {
    raw.once('connect', () => resolve(true));
    raw.once('error', (e: NodeJS.ErrnoException) => { state.error = e.code ?? e.message; resolve(false); });
  });
  if (!connected) {
    raw.destroy();
    return { closedBy: 'connect-failed', ms: Date.now() - t0, bytesIn: 0, error: state.error };
  }
  raw.on('error', (e: NodeJS.ErrnoException) => {
    state.error ??= e.code ?? e.message;
    if (!state.clientEnded) state.reset = true;
  });
  raw.on('data', (d: Buffer) => { state.bytesIn += d.length; changed(); });
  raw.on('end', () => { if (!state.clientEnded) state.gatewayFirst = true; changed(); });
  raw.on('close', () => { if (!state.clientEnded) state.gatewayFirst = true; state.closed = true; changed(); });

  let sock: Socket = raw;
  if (input.inTls) {
    const tls = tlsConnect({ socket: raw, rejectUnauthorized: false });
    tls.on('error', (e: NodeJS.ErrnoException) => { state.error ??= `tls: ${e.code ?? e.message}`; changed(); });
    const secure = await new Promise<boolean>((resolve) => {
      tls.once('secureConnect', () => resolve(true));
      tls.once('error', () => resolve(false));
      raw.once('close', () => resolve(false));
    });
    if (!secure) return finish();
    tls.on('data', () => changed());
    sock = tls;
  }

  const rng = new Prng(o.seed, 0x5911, input.index);
  for (const step of input.steps) {
    if (state.closed) break;
    if (step.afterReply) {
      const seen = state.bytesIn;
      await until(() => state.closed || state.bytesIn > seen || state.gatewayFirst, o.replyWaitMs);
      // Bytes that arrived before this wait count too: the greeting often comes before we look.
    }
    if (state.closed || step.data.length === 0) continue;
    await send(sock, step.data, input.delivery, rng, () => state.closed);
  }
  if (!state.closed) {
    switch (input.ending) {
      case 'half-close':
        state.clientEnded = true;
        halfClosed = true;
        sock.end();
        await until(() => state.closed, o.closeWaitMs);
        break;
      case 'wait':
        await until(() => state.closed || state.gatewayFirst, o.waitMs);
        break;
      case 'stall':
        await until(() => state.closed || state.gatewayFirst, o.stallMs);
        break;
      case 'reset':
        break;
    }
  }
  return finish();

  function finish(): Outcome {
    const by: ClosedBy = state.gatewayFirst ? 'gateway' : state.reset ? 'reset' : halfClosed && state.closed ? 'client-eof' : 'client';
    if (!state.closed) {
      state.clientEnded = true;
      if (input.ending === 'reset') raw.resetAndDestroy(); else raw.destroy();
    }
    return { closedBy: by, ms: Date.now() - t0, bytesIn: state.bytesIn, ...(state.error ? { error: state.error } : {}) };
  }
}

async function send(sock: Socket, data: Buffer, delivery: FuzzInput['delivery'], rng: Prng, closed: () => boolean): Promise<void> {
  if (delivery === 'whole') { sock.write(data); return; }
  if (delivery === 'split') {
    const cuts = [...new Set(Array.from({ length: rng.range(1, 4) }, () => rng.int(data.length)))].sort((a, b) => a - b);
    let from = 0;
    for (const c of [...cuts, data.length]) {
      if (closed()) return;
      if (c > from) sock.write(data.subarray(from, c));
      from = Math.max(from, c);
      await sleep(rng.int(3));
    }
    return;
  }
  // Drip: the first bytes one at a time (a slow client), then the rest at once.
  const dripped = Math.min(data.length, 64);
  const gap = rng.range(2, 20);
  for (let i = 0; i < dripped; i++) {
    if (closed()) return;
    sock.write(data.subarray(i, i + 1));
    await sleep(gap);
  }
  if (dripped < data.length && !closed()) sock.write(data.subarray(dripped));
}
