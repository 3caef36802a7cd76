// The MySQL command-phase relay. Server→client bytes pass through verbatim while a framer feeds
// the statement log. Client→server bytes are gated per packet, because a few commands must not
// pass as sent: COM_CHANGE_USER (it would switch identity without the gateway), KILL of a thread
// id the gateway did not issue to this user, and the first statement after the expiry warning
// (answered with the warning instead). Big packets stream through once their first bytes are seen,
// except statements while gate rules are configured: those are held whole so the rules see all of them.
// Statements (COM_QUERY, COM_STMT_PREPARE, COM_STMT_EXECUTE) pass the session's gate before they
// are forwarded; a denial is answered with error 1142 and the packet never reaches the target.
// With no gate rules the call is skipped (the fast path).
// The statement log sees exactly the bytes forwarded, joined into whole commands by
// command-assembler.ts; a statement over the cap is refused there before its bytes go on: the
// client gets error 1153, nothing more of it reaches the target, and the session ends.
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import type { SessionContext } from '../session/adapter.js';
import type { GateCommand } from '../session/gate.js';
import { endLegs, writeOrPause } from '../util/relay-sockets.js';
import { MyCommandAssembler, MyStatementTooLarge } from './command-assembler.js';
import { COM, type MyStatementLog } from './statement-log.js';
import { MyPacketReader, MyProtocolError, errPacket, packet } from './wire/packets.js';

export interface MyRelayHooks {
  /** Rewrites `KILL [QUERY|CONNECTION] id` for the target, or null to refuse it. */
  killTarget(gatewayId: number): number | null;
  clientClosed(): void;
  /** `afterQuit`: the client had said COM_QUIT, so the target closing is the client's doing. */
  upstreamClosed(afterQuit: boolean): void;
  protocolError(side: 'client' | 'server', detail: string): void;
  /** A statement over the cap was refused (the client has its error); nothing more is forwarded. */
  statementTooLarge?(refusal: MyStatementTooLarge): void;
}

const KILL = /^\s*KILL\s+(QUERY\s+|CONNECTION\s+)?(\d+)\s*;?\s*$/i;
const STREAM_AT = 1024 * 1024;

export class MyRelay {
  private readonly serverFrames: MyPacketReader;
  private pending: Buffer = Buffer.alloc(0);
  private streamLeft = 0;
  /** Bytes of a denied big packet still to drop. */
  private dropLeft = 0;
  private warning: string | null = null;
  /** A big command held whole for the gate: its chunks, their length, the packet's full length. */
  private held: Buffer[] = [];
  private heldLen = 0;
  private holdNeed = 0;
  private closed = false;
  private clientQuit = false;
  /** What was forwarded, as whole commands for the statement log. */
  private readonly commands: MyCommandAssembler;
  /** Set by a statement over the cap: the client's bytes stop here (read and dropped). */
  private clientStopped = false;

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly log: MyStatementLog,
    private readonly maxPacket: number,
    private readonly hooks: MyRelayHooks,
    private readonly logger: Logger,
    private readonly session: Pick<SessionContext, 'activity' | 'check' | 'gatePassThrough' | 'guard'>,
    /** statements.maxBytes: longer statements are refused. */
    statementMax = 16 * 1024 * 1024,
  ) {
    this.serverFrames = new MyPacketReader((p) => log.reply(p), maxPacket);
    this.commands = new MyCommandAssembler((p) => log.command(p), (e) => this.refuseTooLarge(e), statementMax);
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
    // After a refused statement every byte only goes to the assembler, which drops it.
    if (!this.commands.push(bytes) || this.clientStopped) {
      this.clientStopped = true;
      return;
    }
    writeOrPause(this.upstream, bytes, this.client);
  }

  /** The refused statement has all arrived: the client gets its error (sequence in turn), the session ends. */
  private refuseTooLarge(e: MyStatementTooLarge): void {
    this.clientStopped = true;
    if (this.serverFrames.atBoundary) {
      this.client.write(errPacket(e.replySeq, 1153, '08S01', statementTooLargeMessage(e)));
    }
    this.hooks.statementTooLarge?.(e);
  }

  private fromClient(chunk: Buffer): void {
    this.session.activity();
    let d = chunk;
    if (this.holdNeed > 0) {
      // A big command held whole for the gate: collect without re-copying, join once complete.
      this.held.push(d);
      this.heldLen += d.length;
      if (this.heldLen < this.holdNeed) return;
      d = Buffer.concat(this.held);
      this.held = [];
      this.heldLen = 0;
      this.holdNeed = 0;
    }
    try {
      let buf = this.pending.length ? Buffer.concat([this.pending, d]) : d;
      while (buf.length > 0) {
        if (this.clientStopped) {
          this.forward(buf);
          buf = Buffer.alloc(0);
          break;
        }
        if (this.dropLeft > 0) {
          const take = Math.min(this.dropLeft, buf.length);
          this.dropLeft -= take;
          buf = buf.subarray(take);
          continue;
        }
        if (this.streamLeft > 0) {
          const take = Math.min(this.streamLeft, buf.length);
          this.forward(buf.subarray(0, take));
          this.streamLeft -= take;
          buf = buf.subarray(take);
          continue;
        }
        if (buf.length < 4) break;
        const len = buf.readUIntLE(0, 3);
        if (len > this.maxPacket) throw new MyProtocolError(`packet length ${len} over the limit ${this.maxPacket}`);
        if (buf.length < 4 + len) {
          if (len < STREAM_AT || buf.length < 5) break;
          if (!this.session.gatePassThrough && buf[3] === 0 && GATED.has(buf[4]!)) {
            // Gate rules look at the whole statement: a big one is held until complete (bounded by
            // maxPacket, as PostgreSQL's gate holds a command) instead of streaming past the rules.
            this.held = [Buffer.from(buf)];
            this.heldLen = buf.length;
            this.holdNeed = 4 + len;
            buf = Buffer.alloc(0);
            break;
          }
          // A big packet (bulk data): gate and record its start, then let it stream.
          if (this.denied(buf[3]!, buf.subarray(4))) {
            this.dropLeft = 4 + len - buf.length;
            buf = Buffer.alloc(0);
            break;
          }
          this.handleStart(buf[3]!, buf.subarray(4), len);
          this.forward(buf);
          this.streamLeft = 4 + len - buf.length;
          buf = Buffer.alloc(0);
          break;
        }
        const whole = buf.subarray(0, 4 + len);
        buf = buf.subarray(4 + len);
        if (this.intercept(whole[3]!, whole.subarray(4))) continue;
        this.handleStart(whole[3]!, whole.subarray(4), len);
        this.forward(whole);
      }
      this.pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
    } catch (e) {
      this.hooks.protocolError('client', e instanceof Error ? e.message : String(e));
    }
  }

  private handleStart(seq: number, payloadStart: Buffer, _length: number): void {
    if (seq !== 0) return;
    if (payloadStart[0] === COM.QUIT) this.clientQuit = true;
    // The statement log is fed in forward(), from the bytes that actually reach the target.
  }

  /** Returns true when the packet was answered here and must not reach the target. */
  private intercept(seq: number, payload: Buffer): boolean {
    if (seq !== 0 || payload.length === 0) return false;
    const cmd = payload[0];
    if (cmd === COM.CHANGE_USER) {
      this.client.write(errPacket(1, 1235, '42000', 'COM_CHANGE_USER is not supported through Portcullis: open a new connection as USER+TARGET'));
      return true;
    }
    if ((cmd === COM.QUERY || cmd === COM.STMT_EXECUTE) && this.warning) {
      this.client.write(errPacket(1, 1105, 'HY000', `${this.warning} (the statement was not run; run it again)`));
      this.warning = null;
      return true;
    }
    if (this.denied(seq, payload)) return true;
    if (cmd === COM.QUERY) {
      const m = KILL.exec(payload.toString('utf8', 1));
      if (m) {
        const upstreamId = this.hooks.killTarget(Number(m[2]));
        if (upstreamId === null) {
          this.client.write(errPacket(1, 1094, 'HY000', `Unknown thread id: ${m[2]}`));
          return true;
        }
        const sql = `KILL ${m[1] ?? ''}${upstreamId}`;
        const rewritten = packet(0, Buffer.concat([Buffer.from([COM.QUERY]), Buffer.from(sql)]));
        this.handleStart(0, rewritten.subarray(4), rewritten.length - 4);
        this.forward(rewritten);
        return true;
      }
    }
    return false;
  }

  /** Passes a statement through the gate; on deny the client gets error 1142 and true is returned. */
  private denied(seq: number, payload: Buffer): boolean {
    if (this.session.gatePassThrough || seq !== 0) return false;
    const cmd = gateCommand(payload);
    if (!cmd) return false;
    const v = this.session.check(cmd);
    if (v.verdict !== 'deny') return false;
    this.client.write(errPacket(1, 1142, '42000', `Portcullis: ${v.message}`));
    return true;
  }

  private fromServer(d: Buffer): void {
    this.session.activity();
    try {
      this.serverFrames.push(d);
    } catch (e) {
      this.hooks.protocolError('server', e instanceof MyProtocolError ? e.message : String(e));
      return;
    }
    writeOrPause(this.client, d, this.upstream);
  }

  /** Ends both legs; when no reply is in flight the client first gets an error saying why. */
  cut(code: number, sqlstate: string, message: string): void {
    if (this.closed) return;
    // After a refused statement the client already has its error.
    if (this.serverFrames.atBoundary && !this.clientStopped) this.client.write(errPacket(0, code, sqlstate, message));
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    endLegs(this.client, this.upstream);
  }
}

/** What the client is told, and the record says, about a statement refused over the cap. */
export function statementTooLargeMessage(e: MyStatementTooLarge): string {
  return `Portcullis: this statement is ${e.textBytes} bytes, over the gateway's limit of ${e.limit} bytes (statements.maxBytes); it was not run, and the connection is closed`;
}

/** Commands whose text the gate reads (held whole when big). */
const GATED = new Set<number>([COM.QUERY, COM.STMT_PREPARE]);

// The whole statement, never a head: padding must not push its end out of the rules' sight.
function gateCommand(payload: Buffer): GateCommand | null {
  switch (payload[0]) {
    case COM.QUERY: return { kind: 'sql', protocol: 'mysql', path: 'simple', text: payload.toString('utf8', 1) };
    case COM.STMT_PREPARE: return { kind: 'sql', protocol: 'mysql', path: 'prepare', text: payload.toString('utf8', 1) };
    case COM.STMT_EXECUTE: return { kind: 'sql', protocol: 'mysql', path: 'execute', text: `statement ${payload.length >= 5 ? payload.readUInt32LE(1) : 0}` };
    default: return null;
  }
}
