// The MySQL command-phase relay. Server→client bytes pass through verbatim while a framer feeds
// the statement log. Client→server bytes are gated per packet, because a few commands must not
// pass as sent: COM_CHANGE_USER (it would switch identity without the gateway), KILL of a thread
// id the gateway did not issue to this user, and the first statement after the expiry warning
// (answered with the warning instead). Big packets stream through once their first bytes are seen.
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import { endLegs, writeOrPause } from '../util/relay-sockets.js';
import { COM, type MyStatementLog } from './statement-log.js';
import { MyPacketReader, MyProtocolError, errPacket, packet } from './wire/packets.js';

export interface MyRelayHooks {
  /** Rewrites `KILL [QUERY|CONNECTION] id` for the target, or null to refuse it. */
  killTarget(gatewayId: number): number | null;
  clientClosed(): void;
  /** `afterQuit`: the client had said COM_QUIT, so the target closing is the client's doing. */
  upstreamClosed(afterQuit: boolean): void;
  protocolError(side: 'client' | 'server', detail: string): void;
}

const KILL = /^\s*KILL\s+(QUERY\s+|CONNECTION\s+)?(\d+)\s*;?\s*$/i;
const STREAM_AT = 1024 * 1024;

export class MyRelay {
  private readonly serverFrames: MyPacketReader;
  private pending: Buffer = Buffer.alloc(0);
  private streamLeft = 0;
  private warning: string | null = null;
  private closed = false;
  private clientQuit = false;

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly log: MyStatementLog,
    private readonly maxPacket: number,
    private readonly hooks: MyRelayHooks,
    private readonly logger: Logger,
  ) {
    this.serverFrames = new MyPacketReader((p) => log.reply(p), maxPacket);
  }

  start(clientEarly: Buffer, upstreamEarly: Buffer): void {
    this.client.on('data', (d: Buffer) => this.fromClient(d));
    this.upstream.on('data', (d: Buffer) => this.fromServer(d));
    this.client.on('close', () => { this.close(); this.hooks.clientClosed(); });
    this.upstream.on('close', () => { this.close(); this.hooks.upstreamClosed(this.clientQuit); });
    this.client.on('error', (e) => this.logger.info({ reason: e.message }, 'mysql.client_error'));
    this.upstream.on('error', (e) => this.logger.info({ reason: e.message }, 'mysql.upstream_error'));
    if (upstreamEarly.length) this.fromServer(upstreamEarly);
    if (clientEarly.length) this.fromClient(clientEarly);
  }

  /** Answer the next statement with this warning instead of running it. */
  warnOnNextStatement(message: string): void {
    this.warning = message;
  }

  private forward(bytes: Buffer): void {
    writeOrPause(this.upstream, bytes, this.client);
  }

  private fromClient(d: Buffer): void {
    try {
      let buf = this.pending.length ? Buffer.concat([this.pending, d]) : d;
      while (buf.length > 0) {
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
          // A big packet (bulk data): record its start, then let it stream.
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

  private handleStart(seq: number, payloadStart: Buffer, length: number): void {
    if (seq !== 0) return;
    if (payloadStart[0] === COM.QUIT) this.clientQuit = true;
    this.log.command({ seq, length, head: payloadStart.subarray(0, 64 * 1024) });
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

  private fromServer(d: Buffer): void {
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
    if (this.serverFrames.atBoundary) this.client.write(errPacket(0, code, sqlstate, message));
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    endLegs(this.client, this.upstream);
  }
}
