// A vendor's browser terminal: one link opening brokered through the same session pipeline as an
// SSH client (vaulted credential on the upstream leg only, recording, expiry warning and cut,
// revocation, admin kill, live view). The browser attaches over a WebSocket; if it goes away (a
// reload), the shell keeps running for a grace period and the same browser (resume cookie) can
// attach again, getting what it missed from the recording first, then the live stream.
// Translation only: the link service decided, the broker keeps the books.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type ssh2 from 'ssh2';
import type { WebSocket } from 'ws';
import { openCast } from '../../recorder/asciicast-reader.js';
import type { AsciicastWriter } from '../../recorder/asciicast-writer.js';
import type { SessionRecording } from '../../recorder/session-recording.js';
import type { LinkOpening } from '../access/links.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { BrokeredSession, SessionBroker } from '../session/broker.js';
import { recordSession } from '../session/session-recording-setup.js';
import type { TerminationReason } from '../session/termination.js';
import { connectUpstream, UpstreamError } from '../ssh/upstream.js';
import type { Clock } from '../util/clock.js';
import { PortcullisError } from '../util/errors.js';
import { constantTimeEqual, sha256Hex } from '../util/ids.js';
import { parseClientFrame, type ServerNotice, TerminalProtocolError } from './messages.js';

export interface VendorTerminalDeps {
  broker: SessionBroker;
  audit: AuditLog;
  clock: Clock;
  liveRecordings: Map<string, SessionRecording>;
  /** How long a detached terminal waits for its browser to come back. */
  graceMs: number;
}

/** Output held while a (re)attached browser catches up; beyond it the shell is paused. */
const MAX_HELD = 4 * 1024 * 1024;
/** WebSocket send buffer above which the shell's output is paused until the browser reads. */
const HIGH_WATER = 1024 * 1024;
const RESIZE_EVERY_MS = 100;


export class VendorTerminals {
  private readonly byId = new Map<string, VendorTerminal>();

  constructor(private readonly deps: VendorTerminalDeps) {}

  /** Starts the session for an opened link; resolves once the shell runs. The resume secret goes in a cookie. */
  async start(opening: LinkOpening, addr: string, cols: number, rows: number): Promise<{ terminal: VendorTerminal; resume: string }> {
    const secret = randomBytes(32).toString('base64url');
    const t = new VendorTerminal(this.deps, opening, addr, sha256Hex(secret), () => this.byId.delete(t.id));
    this.byId.set(t.id, t);
    await t.connect(cols, rows);
    return { terminal: t, resume: `${t.id}.${secret}` };
  }

  /** The running terminal a resume cookie belongs to (same browser only). */
  byResume(cookie: string | null): VendorTerminal | undefined {
    if (!cookie) return undefined;
    const [id, secret] = cookie.split('.');
    const t = id ? this.byId.get(id) : undefined;
    return t && secret && constantTimeEqual(sha256Hex(secret), t.resumeHash) ? t : undefined;
  }

  get size(): number {
    return this.byId.size;
  }
}

export class VendorTerminal {
  readonly session: BrokeredSession;
  private readonly recording: SessionRecording;
  private writer: AsciicastWriter | null = null;
  private upstream: ssh2.Client | null = null;
  private stream: ssh2.ClientChannel | null = null;
  private ws: WebSocket | null = null;
  /** Non-null while an attached browser catches up from the recording. */
  private held: Buffer[] | null = null;
  private heldBytes = 0;
  private grace: NodeJS.Timeout | null = null;
  private resizeTimer: NodeJS.Timeout | null = null;
  private wantedSize: { cols: number; rows: number } | null = null;
  private drainPoll: NodeJS.Timeout | null = null;
  /** Input waiting for the shell's channel to drain (bounded: the socket is paused meanwhile). */
  private inputQueue: Buffer[] | null = null;

  constructor(
    private readonly deps: VendorTerminalDeps,
    readonly opening: LinkOpening,
    addr: string,
    readonly resumeHash: string,
    onGone: () => void,
  ) {
    this.session = deps.broker.start(opening.auth, 'ssh', addr, {
      warn: (m) => this.notice(m),
      close: (reason, message) => this.cut(reason, message),
    });
    this.recording = recordSession(this.session, deps.clock, deps.liveRecordings);
    this.session.onEnd(() => {
      for (const t of [this.grace, this.resizeTimer, this.drainPoll]) if (t) clearTimeout(t);
      onGone();
    });
    // Until the browser first attaches, the same grace applies: an opened link nobody uses ends.
    this.armGrace();
  }

  get id(): string {
    return this.session.id;
  }

  get linkId(): string {
    return this.opening.link.id;
  }

  async connect(cols: number, rows: number): Promise<void> {
    const { target } = this.opening.auth;
    try {
      this.upstream = await connectUpstream(target, await this.session.credential());
    } catch (err) {
      const reason = err instanceof UpstreamError ? err.kind : 'unreachable';
      this.deps.audit.record('session.upstream_failed', this.opening.auth.user.name, { session: this.id, target: target.name, reason });
      this.session.finish('upstream-failed');
      throw new PortcullisError('unavailable', `cannot reach ${target.name} right now; ask ${this.opening.issuer} for a new link`);
    }
    const upstream = this.upstream;
    upstream.on('error', (e: Error) => this.session.log.info({ reason: e.message }, 'vendor.upstream_error'));
    upstream.on('close', () => this.session.terminate('upstream-closed'));
    if (this.session.isEnded) { upstream.end(); throw new PortcullisError('link-expired', 'the session ended before it started'); }
    const stream = await new Promise<ssh2.ClientChannel>((resolve, reject) => {
      upstream.shell({ term: 'xterm-256color', cols, rows }, (err, s) => (err ? reject(err) : resolve(s)));
    }).catch((err: unknown) => {
      this.session.log.warn({ err: String(err) }, 'vendor.shell_refused');
      this.session.terminate('upstream-failed');
      throw new PortcullisError('unavailable', `${target.name} refused to start a shell`);
    });
    this.stream = stream;
    this.writer = this.recording.terminal({ width: cols, height: rows, env: { TERM: 'xterm-256color' } }, this.session.recordKeystrokes);
    stream.on('data', (b: Buffer) => this.output(b));
    stream.stderr.on('data', (b: Buffer) => this.output(b));
    stream.on('close', () => {
      this.send({ type: 'end', reason: 'closed-by-client', message: 'The session ended.' });
      this.ws?.close(1000, 'session ended');
      this.session.finish('closed-by-client');
      upstream.end();
    });
  }

  /** A browser (the first, or the same one after a reload) attaches. */
  attach(ws: WebSocket): void {
    if (this.session.isEnded) { ws.close(4410, 'this session has ended'); return; }
    if (this.ws) {
      const old = this.ws;
      this.ws = null;
      old.close(4409, 'this terminal was opened again in another tab');
    }
    if (this.grace) { clearTimeout(this.grace); this.grace = null; }
    this.ws = ws;
    this.held = [];
    this.heldBytes = 0;
    // Where "now" is in the recording: the file up to here, then everything held since.
    const { unsubscribe, positions } = this.recording.subscribe(() => undefined);
    unsubscribe();
    void this.catchUp(ws, positions.get(1) ?? 0);
    ws.on('message', (data: Buffer, isBinary: boolean) => this.fromBrowser(ws, data, isBinary));
    // An oversized or malformed frame: ws closes the socket (1009/1002); without a listener the
    // error would take the whole process down.
    ws.on('error', (err: Error) => this.session.log.info({ reason: err.message }, 'vendor.socket_error'));
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.held = null;
      this.stream?.resume();
      if (!this.session.isEnded) this.armGrace();
    });
  }

  private async catchUp(ws: WebSocket, upTo: number): Promise<void> {
    try {
      await this.recording.flush();
      const file = join(this.session.recordingDir, 'ch-1.cast');
      const { entries } = await openCast(file);
      for await (const { event, end } of entries) {
        if (this.ws !== ws || end > upTo) break;
        if (event?.[1] === 'o') ws.send(Buffer.from(event[2]), { binary: true });
      }
    } catch (err) {
      this.session.log.warn({ err: String(err) }, 'vendor.catch_up_failed');
    }
    if (this.ws !== ws) return;
    const held = this.held ?? [];
    this.held = null;
    this.heldBytes = 0;
    for (const b of held) this.sendOutput(b);
    this.stream?.resume();
  }

  private output(b: Buffer): void {
    this.writer?.output(b);
    if (!this.ws) return;
    if (this.held) {
      this.held.push(b);
      this.heldBytes += b.length;
      if (this.heldBytes > MAX_HELD) this.stream?.pause();
      return;
    }
    this.sendOutput(b);
  }

  /** Output to the browser, pausing the shell while the browser is behind. */
  private sendOutput(b: Buffer): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== ws.OPEN) return;
    ws.send(b, { binary: true });
    if (ws.bufferedAmount > HIGH_WATER && !this.drainPoll) {
      this.stream?.pause();
      const poll = (): void => {
        this.drainPoll = null;
        if (this.ws !== ws || ws.bufferedAmount < HIGH_WATER / 4) { this.stream?.resume(); return; }
        this.drainPoll = setTimeout(poll, 20);
      };
      this.drainPoll = setTimeout(poll, 20);
    }
  }

  private fromBrowser(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    let m;
    try {
      m = parseClientFrame(data, isBinary);
    } catch (err) {
      const why = err instanceof TerminalProtocolError ? err.message : 'bad frame';
      this.session.log.info({ reason: why }, 'vendor.bad_frame');
      this.sendTo(ws, { type: 'error', code: 'bad-frame', message: why });
      ws.close(1008, why.slice(0, 120));
      return;
    }
    const stream = this.stream;
    if (!stream || !this.writer) return;
    if (m.type === 'input') {
      const bytes = Buffer.from(m.data, 'utf8');
      this.writer.input(bytes);
      this.input(ws, stream, bytes);
      return;
    }
    // Resize storms are coalesced: the last size wins, applied at most every RESIZE_EVERY_MS.
    this.wantedSize = { cols: m.cols, rows: m.rows };
    if (this.resizeTimer) return;
    const apply = (): void => {
      this.resizeTimer = null;
      const s = this.wantedSize;
      this.wantedSize = null;
      if (!s || this.session.isEnded) return;
      stream.setWindow(s.rows, s.cols, 0, 0);
      this.writer?.resize(s.cols, s.rows);
      this.resizeTimer = setTimeout(apply, RESIZE_EVERY_MS);
    };
    apply();
  }

  /**
   * Input to the shell, never past the channel's backpressure: frames the socket had already read
   * wait in a small queue while the browser's socket is paused. (ssh2 1.17's client, written to
   * without waiting for 'drain', was seen to corrupt its transport: "Bad packet length".)
   */
  private input(ws: WebSocket, stream: ssh2.ClientChannel, bytes: Buffer): void {
    if (this.inputQueue) { this.inputQueue.push(bytes); return; }
    if (stream.write(bytes)) return;
    this.inputQueue = [];
    ws.pause();
    const drain = (): void => {
      const q = this.inputQueue ?? [];
      while (q.length > 0) {
        if (!stream.write(q.shift()!)) { stream.once('drain', drain); return; }
      }
      this.inputQueue = null;
      ws.resume();
    };
    stream.once('drain', drain);
  }

  private notice(message: string): void {
    this.recording.marker('expiry warning');
    this.send({ type: 'notice', message });
  }

  private cut(reason: TerminationReason, message: string): void {
    this.recording.marker(`cut: ${reason}`);
    this.send({ type: 'end', reason, message: vendorWords(reason, this.opening.auth.target.name) ?? message });
    this.ws?.close(1000, 'session ended');
    this.upstream?.end();
  }

  private armGrace(): void {
    if (this.grace) clearTimeout(this.grace);
    this.grace = setTimeout(() => this.session.terminate('closed-by-client'), this.deps.graceMs);
    this.grace.unref();
  }

  private send(n: ServerNotice): void {
    if (this.ws) this.sendTo(this.ws, n);
  }

  private sendTo(ws: WebSocket, n: ServerNotice): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(n));
  }
}

/** A vendor has no account and no CLI: say what happened without pointing at gateway commands. */
function vendorWords(reason: TerminationReason, target: string): string | null {
  switch (reason) {
    case 'grant-expired': return `Your time on ${target} is up: the session has ended.`;
    case 'grant-revoked': return `The link was revoked by its issuer: the session on ${target} has ended.`;
    case 'killed-by-admin': return `An administrator ended the session on ${target}.`;
    case 'closed-by-client': return `The session on ${target} ended (the browser was away too long).`;
    default: return null;
  }
}
