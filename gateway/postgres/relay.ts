// The PostgreSQL relay: bytes go through verbatim both ways (no re-serialization), with
// backpressure both ways, while each side's framer feeds the statement log. Messages the gateway
// adds itself (the expiry notice, the FATAL at the cut, a gate refusal) are only ever written
// between two server messages, never inside one. With gate rules configured, client commands go
// through PgClientGate first; without, client bytes are forwarded as they come (the fast path).
// A Query or Parse over the statement cap is refused the moment its length is read: from then on
// no client byte reaches the target (the part of it already streamed is an unfinished message the
// target never runs). The rest of that message is read and dropped, so the client has finished
// writing and reads the refusal; then the adapter ends the session with it in protocol words.
// Server bytes are written to the client first and framed for the statement log after, in a batch
// at setImmediate (one for every relay of the process): the log's work (framing the answers,
// building and writing each record) is off the path a reply takes. Client bytes are still framed
// and logged before they are forwarded (the cap and the gate decide before the target sees a
// byte), and any server bytes still waiting are framed first, so the log sees both streams in the
// order they crossed. Every record is made before the session ends: close, cut and an injection
// (which needs the server stream's message boundary) frame what waits at once.
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import type { SessionContext } from '../session/adapter.js';
import { endLegs, writeOrPause } from '../util/relay-sockets.js';
import { PgAnswerOrder } from './answer-order.js';
import { PgClientGate } from './client-gate.js';
import { PgFrameReader, PgProtocolError, PgStatementTooLarge } from './wire/frames.js';
import { fatal } from './wire/server-messages.js';
import type { StatementLog } from './statement-log.js';

export interface RelayEvents {
  /** `terminated`: the client said goodbye (Terminate) before closing. */
  clientClosed(terminated: boolean): void;
  upstreamClosed(): void;
  protocolError(side: 'client' | 'server', detail: string): void;
  /** A statement over the cap was refused; nothing more from the client is forwarded. */
  statementTooLarge(refusal: PgStatementTooLarge): void;
}

/** Relays with server bytes waiting for the log, framed together at the next setImmediate. */
const waitingRelays: PgRelay[] = [];
let drainScheduled = false;

function drainWaitingRelays(): void {
  drainScheduled = false;
  const relays = waitingRelays.splice(0);
  for (const r of relays) r.frameServerBytes();
}

/** Server message types whose bodies the statement log reads (statement-log.ts fromServer); others are only counted. */
const SERVER_BODIES_READ: ReadonlySet<string> = new Set(['C', 'E', 'V']);

export class PgRelay {
  private readonly clientFrames: PgFrameReader;
  private readonly serverFrames: PgFrameReader;
  private readonly pendingInjections: Buffer[] = [];
  private clientTerminated = false;
  private closed = false;
  /** Set by a refused oversized statement: the client's bytes stop here. */
  private clientStopped = false;
  /** Bytes of the refused statement still to drop before the refusal is said. */
  private drainLeft = 0;
  private refused: PgStatementTooLarge | null = null;
  /** Both null on the fast path (no gate rules). */
  private readonly gate: PgClientGate | null;
  private readonly order: PgAnswerOrder | null;
  /** Server chunks already written to the client, not yet framed for the log, and when each came. */
  private readonly unframed: Buffer[] = [];
  private readonly unframedAt: number[] = [];
  private waiting = false;
  /** When the server chunk being framed arrived: the end time of the records it completes. */
  private framingAt = 0;
  private readonly clock: () => number;
  /** frameNow, where a throw (the log, the recording) ends this session only, as on the byte path. */
  private readonly frameGuarded: (arg: undefined) => void;

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    log: StatementLog,
    limits: { maxMessage: number; statementMax: number },
    private readonly events: RelayEvents,
    private readonly logger: Logger,
    private readonly session: Pick<SessionContext, 'activity' | 'check' | 'gatePassThrough' | 'guard' | 'sentToClient'>,
    /** The transaction status of the target's ReadyForQuery at login. */
    initialStatus: 'I' | 'T' | 'E' = 'I',
  ) {
    this.clock = log.now;
    this.frameGuarded = session.guard<undefined>(() => this.frameNow());
    const order = session.gatePassThrough ? null : new PgAnswerOrder((b) => writeOrPause(this.client, b, this.upstream), initialStatus);
    this.order = order;
    this.gate = order === null ? null : new PgClientGate({
      check: (cmd) => session.check(cmd),
      forward: (b, type) => {
        if (type !== null) order.forwarded(type);
        writeOrPause(this.upstream, b, this.client);
      },
      refuse: (type, error) => order.refused(type, error),
      logged: (m) => {
        if (m.type === 'X') this.clientTerminated = true;
        log.fromClient(m);
      },
    }, limits);
    this.clientFrames = new PgFrameReader((m) => {
      if (m.type === 'X') this.clientTerminated = true;
      log.fromClient(m);
    }, limits.maxMessage, undefined, limits.statementMax, null, false);
    this.serverFrames = new PgFrameReader((m) => log.fromServer(m, this.framingAt), limits.maxMessage, undefined, null, SERVER_BODIES_READ, false);
  }

  start(clientPipelined: Buffer, upstreamEarly: Buffer): void {
    const { client, upstream, session } = this;
    client.on('data', session.guard((d: Buffer) => this.fromClient(d)));
    upstream.on('data', session.guard((d: Buffer) => this.fromServer(d)));
    client.on('close', () => { this.close(); this.events.clientClosed(this.clientTerminated); });
    upstream.on('close', () => { this.close(); this.events.upstreamClosed(); });
    client.on('error', (e) => this.logger.info({ reason: e.message }, 'pg.client_error'));
    upstream.on('error', (e) => this.logger.info({ reason: e.message }, 'pg.upstream_error'));
    if (upstreamEarly.length > 0) this.fromServer(upstreamEarly);
    if (clientPipelined.length > 0) this.fromClient(clientPipelined);
    // The client may have gone while the upstream login ran: its 'close' was before our listener.
    if (client.destroyed) { this.close(); this.events.clientClosed(false); }
  }

  private fromClient(d: Buffer): void {
    this.session.activity();
    // The answers so far go into the log before this chunk's messages (order, statement times).
    if (this.unframed.length > 0) this.frameServerBytes();
    if (this.clientStopped) return this.drain(d.length);
    if (this.gate) return this.fromClientGated(d, this.gate);
    try {
      this.clientFrames.push(d);
    } catch (e) {
      // The whole chunk stays here: messages before the refused one in it are never run either,
      // and none of them gets a reply (nor a record) as the session ends.
      this.clientError(e, d);
      return;
    }
    writeOrPause(this.upstream, d, this.client);
  }

  private fromClientGated(d: Buffer, gate: PgClientGate): void {
    // The gate forwards message by message: one write to the target per chunk, not per message
    // (a prepared statement's Bind/Execute/Sync would otherwise cost three writes).
    this.upstream.cork();
    try {
      gate.push(d);
    } catch (e) {
      this.clientError(e, d);
    } finally {
      this.upstream.uncork();
    }
  }

  private clientError(e: unknown, chunk: Buffer): void {
    if (e instanceof PgStatementTooLarge) {
      this.clientStopped = true;
      this.refused = e;
      this.drainLeft = e.bodyBytes;
      this.drain(chunk.length - e.bodyStart);
      return;
    }
    this.events.protocolError('client', e instanceof PgProtocolError ? e.message : String(e));
  }

  /** Drops client bytes of the refused statement; once it has all arrived, the refusal is said. */
  private drain(bytes: number): void {
    if (!this.refused) return;
    this.drainLeft -= bytes;
    if (this.drainLeft > 0) return;
    const e = this.refused;
    this.refused = null;
    this.events.statementTooLarge(e);
  }

  private fromServer(d: Buffer): void {
    if (this.closed) return;
    this.session.activity();
    this.session.sentToClient?.(d.length);
    // The server is trusted: bytes its framing later refuses have reached the client already, and
    // the session then ends (protocolError) as it did when they were framed first.
    if (this.order) {
      try {
        this.order.server(d);
      } catch (e) {
        this.events.protocolError('server', e instanceof PgProtocolError ? e.message : String(e));
        return;
      }
    } else {
      writeOrPause(this.client, d, this.upstream);
    }
    this.unframed.push(d);
    this.unframedAt.push(this.clock());
    if (this.pendingInjections.length > 0) this.flushInjections();
    else if (!this.waiting) {
      this.waiting = true;
      waitingRelays.push(this);
      if (!drainScheduled) { drainScheduled = true; setImmediate(drainWaitingRelays); }
    }
  }

  /** Frames the server bytes written so far for the statement log (the batch, or at once when needed). */
  frameServerBytes(): void {
    this.waiting = false;
    if (this.unframed.length > 0) this.frameGuarded(undefined);
  }

  private frameNow(): void {
    // Taken out first: a failure below ends the session, which frames what waits (re-entering here).
    const chunks = this.unframed.splice(0), times = this.unframedAt.splice(0);
    for (let i = 0; i < chunks.length; i++) {
      this.framingAt = times[i]!;
      try {
        this.serverFrames.push(chunks[i]!);
      } catch (e) {
        this.events.protocolError('server', e instanceof PgProtocolError ? e.message : String(e));
        return;
      }
    }
  }

  /** Sends a gateway-made message at the next message boundary. */
  inject(msg: Buffer): void {
    this.pendingInjections.push(msg);
    this.flushInjections();
  }

  private flushInjections(): void {
    if (this.closed) return;
    if (this.unframed.length > 0) this.frameServerBytes();
    if (!this.serverFrames.atBoundary || this.closed) return;
    while (this.pendingInjections.length > 0) this.client.write(this.pendingInjections.shift()!);
  }

  /** Ends both legs, with a FATAL first when the client's stream is at a message boundary. */
  cut(code: string, message: string): void {
    if (this.closed) return;
    if (this.unframed.length > 0) this.frameServerBytes();
    if (this.closed) return;
    if (this.serverFrames.atBoundary) this.client.write(fatal(code, message));
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    // Every answer that reached the client is in the log before the session's record closes.
    if (this.unframed.length > 0) this.frameServerBytes();
    if (this.closed) return;
    this.closed = true;
    endLegs(this.client, this.upstream);
  }
}
