// The MySQL command-phase relay. Server→client bytes are forwarded verbatim, then a header reader
// (MyReplyHeads: no copy of rows) feeds the statement log from the same chunk. Client→server bytes are read as whole commands (wire/client-commands.ts),
// however they are segmented and however many 16 MiB packets one spans, because some must not pass
// as sent: COM_CHANGE_USER (it would switch identity without the gateway), any KILL (mapped to a
// thread this user's session owns, or refused: kill-mapping.ts), command bytes the gateway does not
// know (COM_MULTI could carry any of these), and the first statement after the expiry warning
// (answered with the warning instead). Statements (COM_QUERY, COM_STMT_PREPARE) are held whole,
// up to the packet limit, so the KILL check and gate rules see all of them; bulk packets (statement
// parameters, long data) over 1 MiB stream through once their head is seen. Statements pass the
// session's gate before they are forwarded; a denial is answered with error 1142 and the packet
// never reaches the target. With no gate rules the call is skipped (the fast path).
// The statement log gets each statement's whole text as forwarded. A statement longer than
// statements.maxBytes is never forwarded (it is held, and dropped past the hold limit): once it has
// been read to its end the client gets error 1153 (sequence in turn), the adapter records the
// refusal, and the session ends (`statement-too-large`).
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import type { SessionContext } from '../session/adapter.js';
import type { GateCommand } from '../session/gate.js';
import { endLegs, writeOrPause } from '../util/relay-sockets.js';
import { COM_PROCESS_KILL, killIds, mapKills } from './kill-mapping.js';
import { COM, type MyStatementLog } from './statement-log.js';
import { ClientCommands, framePayload } from './wire/client-commands.js';
import { MyProtocolError, MyReplyHeads, errPacket } from './wire/packets.js';

export interface MyRelayHooks {
  /** The target's thread id for a gateway connection id this user's session owns on this target, or null. */
  killTarget(gatewayId: number): number | null;
  /**
   * The same for an id this node does not know: a session of this user on this target on another
   * node of the cluster (its KILL then runs on this session's own upstream connection). Absent: one node.
   */
  killTargetElsewhere?(gatewayId: number): Promise<number | null>;
  clientClosed(): void;
  /** `afterQuit`: the client had said COM_QUIT, so the target closing is the client's doing. */
  upstreamClosed(afterQuit: boolean): void;
  protocolError(side: 'client' | 'server', detail: string): void;
  /** A statement over the cap was refused (the client has its error); nothing of it was forwarded. */
  statementTooLarge?(refusal: MyStatementRefusal): void;
}

/** A statement refused over the statement cap. */
export interface MyStatementRefusal {
  /** The refused statement's text bytes (command byte not counted). */
  textBytes: number;
  /** The longest statement text let through. */
  limit: number;
  /** `prepared`: the parameters of a prepared statement were over the cap, not its text. */
  path: 'simple' | 'prepared';
}

const STREAM_AT = 1024 * 1024;
/** ER_NO_SUCH_THREAD: what mapKills answers for an id this node does not know. */
const UNKNOWN_THREAD = 1094;
const HEAD = 64 * 1024;

/** MariaDB's COM_STMT_BULK_EXECUTE: a prepared statement run once per row of parameters. */
const COM_STMT_BULK_EXECUTE = 0xfa;
/** Commands whose text the KILL scan reads. */
const KILL_SCANNED = new Set<number>([COM.QUERY, COM.STMT_PREPARE, COM.CHANGE_USER, COM_PROCESS_KILL]);
/**
 * Commands that carry what a prepared statement runs with: its parameters (a parameter can be SQL
 * that runs, e.g. `EXECUTE IMMEDIATE ?` or a procedure taking SQL), so they are held and recorded
 * whole up to the statement cap like statement text, and refused over it.
 */
const PARAMETERS = new Set<number>([COM.STMT_EXECUTE, COM.STMT_SEND_LONG_DATA, COM_STMT_BULK_EXECUTE]);
/** Commands read whole before anything is forwarded. */
const HELD = new Set<number>([...KILL_SCANNED, ...PARAMETERS]);
/** Command bytes of the MySQL and MariaDB protocols (0x00-0x1f, COM_STMT_BULK_EXECUTE); others are refused. */
const KNOWN = (cmd: number): boolean => cmd <= 0x1f || cmd === 0xfa;

export class MyRelay {
  private readonly serverFrames: MyReplyHeads;
  private readonly commands: ClientCommands;
  private warning: string | null = null;
  private closed = false;
  private clientQuit = false;
  /** Text bytes a statement may have (statements.maxBytes, or less when the packet limit is lower). */
  private readonly statementLimit: number;
  /** Set once a statement over the cap was refused: the client already has its error. */
  private refusedStatement = false;
  /**
   * While a KILL waits for ids resolved on other nodes: what the client sent after it, in order,
   * run once the KILL is decided (the client is paused meanwhile). Null when nothing waits.
   */
  private held: Array<() => void> | null = null;
  /** While running held work: the held streamed packet being passed on was refused (its bytes are dropped). */
  private heldStreamDropped = false;

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly log: MyStatementLog,
    maxPacket: number,
    private readonly hooks: MyRelayHooks,
    private readonly logger: Logger,
    private readonly session: Pick<SessionContext, 'activity' | 'check' | 'gatePassThrough' | 'guard' | 'sentToClient'>,
    /** statements.maxBytes: longer statements are refused. */
    statementMax = 16 * 1024 * 1024,
  ) {
    this.serverFrames = new MyReplyHeads((length, buf, start, end) => log.replyAt(length, buf, start, end), maxPacket);
    // A statement is held whole (command byte + text), so the hold limit is also the statement cap.
    const maxHeld = Math.min(maxPacket, statementMax + 1);
    this.statementLimit = maxHeld - 1;
    // Everything the client sends passes `inOrder`: it runs now, or after a KILL waiting on other nodes.
    this.commands = new ClientCommands({
      whole: (_seq, payload, raw) => this.inOrder(() => this.whole(payload, raw)),
      tooBig: (seq, cmd, length) => this.inOrder(() => this.tooBig(seq, cmd, length)),
      tooBigEnd: (lastSeq, cmd, length) => this.inOrder(() => this.tooBigEnd(lastSeq, cmd, length)),
      streamStart: (_seq, head, length) => {
        if (!this.held) return this.streamStart(head, length);
        // Decided when its turn comes; its bytes wait behind it and follow that decision.
        this.held.push(() => { this.heldStreamDropped = !this.streamStart(head, length); });
        return true;
      },
      streamBytes: (bytes) => {
        if (!this.held) { this.forward(bytes); return; }
        this.held.push(() => { if (!this.heldStreamDropped) this.forward(bytes); });
      },
    }, (cmd) => HELD.has(cmd), { maxPacket, maxHeld, streamAt: STREAM_AT, headBytes: HEAD });
  }

  start(clientEarly: Buffer, upstreamEarly: Buffer): void {
    this.client.on('data', this.session.guard((d: Buffer) => this.fromClient(d)));
    this.upstream.on('data', this.session.guard((d: Buffer) => this.fromServer(d)));
    this.client.on('close', () => { this.close(); this.hooks.clientClosed(); });
    this.upstream.on('close', () => { this.close(); this.hooks.upstreamClosed(this.clientQuit); });
    this.client.on('error', (e) => this.logger.info({ reason: e.message }, 'mysql.client_error'));
    this.upstream.on('error', (e) => this.logger.info({ reason: e.message }, 'mysql.upstream_error'));
    if (upstreamEarly.length) this.fromServer(upstreamEarly);
    if (clientEarly.length) this.fromClient(clientEarly);
    // The client may have gone while the upstream login ran: its 'close' was before our listener.
    if (this.client.destroyed) { this.close(); this.hooks.clientClosed(); }
  }

  /** Answer the next statement with this warning instead of running it. */
  warnOnNextStatement(message: string): void {
    this.warning = message;
  }

  private forward(bytes: Buffer): void {
    writeOrPause(this.upstream, bytes, this.client);
  }

  private inOrder(fn: () => void): void {
    if (this.held) this.held.push(fn);
    else fn();
  }

  private fromClient(chunk: Buffer): void {
    this.session.activity();
    if (this.held) this.client.pause();
    try {
      this.commands.push(chunk);
    } catch (e) {
      this.hooks.protocolError('client', e instanceof Error ? e.message : String(e));
    }
  }

  /** A whole command (or a small non-command packet): answered here, or forwarded as sent or rewritten. */
  private whole(payload: Buffer, raw: readonly Buffer[], elsewhere?: ReadonlyMap<number, number>): void {
    // Every packet that starts a payload is read as a command, whatever its sequence id: a server
    // may take one that is out of order, and no client packet outside a command is expected here
    // (LOCAL INFILE is never offered; COM_CHANGE_USER, which would continue, is refused).
    if (payload.length === 0) { for (const r of raw) this.forward(r); return; }
    if (this.refusedAtStart(payload)) return;
    const cmd = payload[0]!;
    let out = payload;
    if (KILL_SCANNED.has(cmd)) {
      const k = mapKills(payload, (id) => this.hooks.killTarget(id) ?? elsewhere?.get(id) ?? null);
      if (k.kind === 'refuse' && k.code === UNKNOWN_THREAD && !elsewhere && this.hooks.killTargetElsewhere) {
        this.resolveElsewhere(payload, raw);
        return;
      }
      if (k.kind === 'refuse') {
        // Recorded and audited as gated; refused whatever the gate says.
        this.session.check({ kind: 'thread-kill', protocol: 'mysql', text: commandText(payload, k.at), refusal: k.message });
        this.client.write(errPacket(1, k.code, k.sqlstate, k.message));
        return;
      }
      if (k.kind === 'rewrite') out = k.payload;
    }
    if (this.denied(out)) return;
    // Long data adds up across packets until the statement runs: the sum is held to the cap too.
    if (cmd === COM.STMT_SEND_LONG_DATA && this.log.longDataBytes + Math.max(0, out.length - 7) > this.statementLimit) {
      this.refuse(1, this.log.longDataBytes + out.length - 7, 'prepared');
      return;
    }
    // Decided (KILL mapped, gate passed, caps held): forward, then log what was forwarded. The reply
    // cannot come before the log has the command: it is read on a later turn of the event loop.
    if (out === payload) for (const r of raw) this.forward(r);
    else for (const p of framePayload(out)) this.forward(p);
    this.handleStart(out, out.length);
  }

  /**
   * A KILL names ids this node does not know: they may be sessions of this user on other nodes.
   * The lookup is asynchronous, so what the client sends meanwhile waits behind it, in order.
   */
  private resolveElsewhere(payload: Buffer, raw: readonly Buffer[]): void {
    const hooks = this.hooks;
    const ids = killIds(payload).filter((id) => this.hooks.killTarget(id) === null);
    this.held = [];
    this.client.pause();
    const lookup = (id: number): Promise<number | null> => hooks.killTargetElsewhere?.(id) ?? Promise.resolve(null);
    void Promise.all(ids.map(async (id) => [id, await lookup(id).catch(() => null)] as const)).then((found) => {
      if (this.closed) return;
      const elsewhere = new Map<number, number>();
      for (const [id, thread] of found) if (thread !== null) elsewhere.set(id, thread);
      const waiting = this.held ?? [];
      this.held = null;
      try {
        this.whole(payload, raw, elsewhere);
        for (let fn = waiting.shift(); fn; fn = waiting.shift()) {
          fn();
          // Another KILL went asynchronous: the rest waits behind it.
          if (this.held) { (this.held as Array<() => void>).push(...waiting); return; }
        }
      } catch (e) {
        this.hooks.protocolError('client', e instanceof Error ? e.message : String(e));
        return;
      }
      this.heldStreamDropped = false;
      this.client.resume();
    });
  }

  /** Refusals that need only the command's first bytes; true when answered here. */
  private refusedAtStart(head: Buffer): boolean {
    const cmd = head[0]!;
    if (!KNOWN(cmd)) {
      this.client.write(errPacket(1, 1047, '08S01', `Unknown command 0x${cmd.toString(16)}: Portcullis passes only the commands it knows`));
      return true;
    }
    if (cmd === COM.CHANGE_USER) {
      this.client.write(errPacket(1, 1235, '42000', 'COM_CHANGE_USER is not supported through Portcullis: open a new connection as USER+TARGET'));
      return true;
    }
    if ((cmd === COM.QUERY || cmd === COM.STMT_EXECUTE) && this.warning) {
      this.client.write(errPacket(1, 1105, 'HY000', `${this.warning} (the statement was not run; run it again)`));
      this.warning = null;
      return true;
    }
    return false;
  }

  /** A big non-held packet: gate and record its start, then let it stream (true) or drop it. */
  private streamStart(head: Buffer, length: number): boolean {
    if (head.length === 0) return true;
    if (this.refusedAtStart(head) || this.denied(head)) return false;
    this.handleStart(head, length);
    return true;
  }

  private tooBig(seq: number, cmd: number, length: number): void {
    this.logger.info({ seq, cmd, length }, 'mysql.command_too_big');
    // A statement is answered once it has all been read (tooBigEnd): the client waits for the answer
    // only after its last packet, and expects the sequence id after that packet's.
    if (STATEMENTS.has(cmd) || PARAMETERS.has(cmd)) return;
    this.client.write(errPacket(1, 1153, '08S01', `Portcullis: a command of ${length} bytes is over the limit of ${this.statementLimit + 1} bytes`));
  }

  /** A refused statement has all arrived (none of it was forwarded): error 1153, then the adapter records it and ends the session. */
  private tooBigEnd(lastSeq: number, cmd: number, length: number): void {
    if (!STATEMENTS.has(cmd) && !PARAMETERS.has(cmd)) return;
    this.refuse((lastSeq + 1) & 0xff, length - 1, PARAMETERS.has(cmd) ? 'prepared' : 'simple');
  }

  /** Error 1153 for a statement (or its parameters) over the cap; the adapter records it and ends the session. */
  private refuse(seq: number, textBytes: number, path: MyStatementRefusal['path']): void {
    if (this.refusedStatement) return;
    this.refusedStatement = true;
    const refusal: MyStatementRefusal = { textBytes, limit: this.statementLimit, path };
    this.client.write(errPacket(seq, 1153, '08S01', statementTooLargeMessage(refusal)));
    this.hooks.statementTooLarge?.(refusal);
  }

  private handleStart(payloadStart: Buffer, length: number): void {
    if (payloadStart[0] === COM.QUIT) this.clientQuit = true;
    // A statement's whole text goes to the log (it was held whole, up to the statement cap); other
    // commands their first bytes (parameters, ids).
    const head = STATEMENTS.has(payloadStart[0]!) || PARAMETERS.has(payloadStart[0]!) ? payloadStart : payloadStart.subarray(0, HEAD);
    this.log.command({ seq: 0, length, head });
  }

  /** Passes a statement through the gate; on deny the client gets error 1142 and true is returned. */
  private denied(payload: Buffer): boolean {
    if (this.session.gatePassThrough) return false;
    const cmd = gateCommand(payload, (id) => this.log.preparedSql(id));
    if (!cmd) return false;
    const v = cmd === 'unknown'
      ? { verdict: 'deny' as const, message: 'this prepared statement was not held by the gateway (too many prepared); prepare it again' }
      : this.session.check(cmd);
    if (v.verdict !== 'deny') return false;
    this.client.write(errPacket(1, 1142, '42000', `Portcullis: ${v.message}`));
    return true;
  }

  private fromServer(d: Buffer): void {
    this.session.activity();
    this.session.sentToClient?.(d.length);
    // Forward first, then read the same bytes for the log (headers and reply heads only). The server
    // is trusted: a framing error found here ends the session after the chunk that carried it was
    // already passed on. Nothing the gate decides is on this side.
    writeOrPause(this.client, d, this.upstream);
    try {
      this.serverFrames.push(d);
    } catch (e) {
      this.hooks.protocolError('server', e instanceof MyProtocolError ? e.message : String(e));
    }
  }

  /** Ends both legs; when no reply is in flight the client first gets an error saying why. */
  cut(code: number, sqlstate: string, message: string): void {
    if (this.closed) return;
    // After a refused statement the client already has its error.
    if (this.serverFrames.atBoundary && !this.refusedStatement) this.client.write(errPacket(0, code, sqlstate, message));
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    endLegs(this.client, this.upstream);
  }
}

/** What the client is told, and the record says, about a statement refused over the cap. */
export function statementTooLargeMessage(e: MyStatementRefusal): string {
  const what = e.path === 'prepared' ? 'this prepared statement\'s parameters are' : 'this statement is';
  return `Portcullis: ${what} ${e.textBytes} bytes, over the gateway's limit of ${e.limit} bytes (statements.maxBytes); it was not run, and the connection is closed`;
}

/** Commands whose text is a statement (held whole up to the statement cap, and logged whole). */
const STATEMENTS = new Set<number>([COM.QUERY, COM.STMT_PREPARE]);

/**
 * The refused command as text for its record: a statement's SQL (around `at`, where the refused
 * KILL is, when it is long: padding must not push it out of the record), or COM_PROCESS_KILL's id.
 */
function commandText(payload: Buffer, at: number): string {
  if (payload[0] === COM_PROCESS_KILL) return `COM_PROCESS_KILL ${payload.length >= 5 ? payload.readUInt32LE(1) : '?'}`;
  if (payload.length <= 1 + SNIPPET) return payload.toString('utf8', 1);
  const from = Math.max(1, at - SNIPPET / 2);
  const to = Math.min(payload.length, from + SNIPPET);
  return `${from > 1 ? '…' : ''}${payload.toString('utf8', from, to)}${to < payload.length ? '…' : ''} [${payload.length - 1} bytes]`;
}

const SNIPPET = 120;

/**
 * The gate's view of a command; a prepared statement's run carries the text it was prepared with
 * (read again under the rules of now: a rule added since must stop it); 'unknown' when the log may
 * not hold that text.
 */
function gateCommand(payload: Buffer, preparedSql: (id: number) => string | null): GateCommand | 'unknown' | null {
  switch (payload[0]) {
    case COM.QUERY: return { kind: 'sql', protocol: 'mysql', path: 'simple', text: payload.toString('utf8', 1) };
    case COM.STMT_PREPARE: return { kind: 'sql', protocol: 'mysql', path: 'prepare', text: payload.toString('utf8', 1) };
    case COM.STMT_EXECUTE: case COM_STMT_BULK_EXECUTE: {
      if (payload.length < 5) return null;
      const text = preparedSql(payload.readUInt32LE(1));
      return text === null ? 'unknown' : { kind: 'sql', protocol: 'mysql', path: 'execute', text };
    }
    default: return null;
  }
}
