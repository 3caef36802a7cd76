// A vendor's browser terminal, as the session pipeline's adapter: one link opening relayed to a
// shell on the target like an SSH client's (credential on the upstream leg only, recording,
// expiry warning and cut, revocation, admin kill, idle timeout, live view — all the pipeline's).
// The browser attaches over a WebSocket; if it goes away (a reload), the shell keeps running for a
// grace period and the same browser (resume cookie) can attach again, getting what it missed from
// the recording first, then the live stream. Translation only: the link service decided.
import type ssh2 from 'ssh2';
import type { WebSocket } from 'ws';
import { openCast } from '../../recorder/asciicast-reader.js';
import type { SessionRecording } from '../../recorder/session-recording.js';
import type { TerminalTap } from '../../recorder/taps.js';
import type { LinkOpening } from '../access/links.js';
import type { Identity, ProtocolAdapter, SessionContext, SessionRefusal } from '../session/adapter.js';
import type { UpstreamCredential } from '../session/credentials.js';
import type { SessionHandle, SessionPipeline } from '../session/pipeline.js';
import type { TerminationReason } from '../session/termination.js';
import { LineGate } from '../session/line-gate.js';
import { UpstreamFailure } from '../session/upstream-failure.js';
import { connectUpstream } from '../ssh/upstream.js';
import { PortcullisError } from '../util/errors.js';
import { parseClientFrame, type ServerNotice, TerminalProtocolError } from './messages.js';

export interface VendorTerminalDeps {
  pipeline: SessionPipeline;
  /** Recordings of running sessions: a reattaching browser catches up from its terminal's file. */
  liveRecordings: Map<string, SessionRecording>;
  /** How long a detached terminal waits for its browser to come back. */
  graceMs: number;
}

/** Output held while a (re)attached browser catches up; beyond it the shell is paused. */
const MAX_HELD = 4 * 1024 * 1024;
/** WebSocket send buffer above which the shell's output is paused until the browser reads. */
const HIGH_WATER = 1024 * 1024;
const RESIZE_EVERY_MS = 100;

interface Shell { upstream: ssh2.Client; stream: ssh2.ClientChannel }

export class VendorTerminal implements ProtocolAdapter<Shell> {
  readonly protocol = 'ssh';
  readonly frontEnd = 'web-terminal';
  handle: SessionHandle | null = null;
  /** Why the session could not start, in words for the vendor's page. */
  refusal: PortcullisError | null = null;
  private ctx: SessionContext | null = null;
  private writer: TerminalTap | null = null;
  private upstream: ssh2.Client | null = null;
  private stream: ssh2.ClientChannel | null = null;
  private ws: WebSocket | null = null;
  /** Non-null while an attached browser catches up from the recording. */
  private held: Buffer[] | null = null;
  private heldBytes = 0;
  private resizeTimer: NodeJS.Timeout | null = null;
  private wantedSize: { cols: number; rows: number } | null = null;
  private drainPoll: NodeJS.Timeout | null = null;
  /** Input waiting for the shell's channel to drain (bounded: the socket is paused meanwhile). */
  private inputQueue: Buffer[] | null = null;
  /** Lines submitted at the prompt pass the gate before their Enter goes: only when gate rules are configured. */
  private lines: LineGate | null = null;


  constructor(
    private readonly deps: VendorTerminalDeps,
    readonly opening: LinkOpening,
    readonly clientAddr: string,
    readonly resumeHash: string,
    private readonly cols: number,
    private readonly rows: number,
    private readonly onGone: (id: string) => void,
  ) {}

  get id(): string {
    return this.handle?.id ?? this.ctx?.id ?? '';
  }

  get linkId(): string {
    return this.opening.link.id;
  }

  private get ended(): boolean {
    return this.ctx?.signal.aborted ?? true;
  }

  identify(): Promise<Identity> {
    return Promise.resolve({ kind: 'authorized', auth: this.opening.auth });
  }

  refuse(refusal: SessionRefusal): void {
    this.refusal = refusal.kind === 'upstream'
      ? new PortcullisError('unavailable', refusal.failure.message)
      : new PortcullisError('link-expired', 'the session ended before it started');
  }

  async connect(ctx: SessionContext, credential: UpstreamCredential): Promise<Shell> {
    this.ctx = ctx;
    const { target } = this.opening.auth;
    let upstream: ssh2.Client;
    try {
      upstream = await connectUpstream(target, credential, ctx.signal);
    } catch (err) {
      const kind = err instanceof UpstreamFailure ? err.kind : 'unreachable';
      throw new UpstreamFailure(kind, `cannot reach ${target.name} right now; ask ${this.opening.issuer} for a new link`);
    }
    upstream.on('error', (e: Error) => ctx.log.info({ reason: e.message }, 'vendor.upstream_error'));
    const stream = await new Promise<ssh2.ClientChannel>((resolve, reject) => {
      upstream.shell({ term: 'xterm-256color', cols: this.cols, rows: this.rows }, (err, s) => (err ? reject(err) : resolve(s)));
    }).catch((err: unknown) => {
      ctx.log.warn({ err: String(err) }, 'vendor.shell_refused');
      upstream.end();
      throw new UpstreamFailure('shell-refused', `${target.name} refused to start a shell`);
    });
    return { upstream, stream };
  }

  release(shell: Shell): void {
    shell.upstream.end();
  }

  relay(ctx: SessionContext, { upstream, stream }: Shell): void {
    this.upstream = upstream;
    this.stream = stream;
    this.writer = ctx.taps.terminal({ width: this.cols, height: this.rows, env: { TERM: 'xterm-256color' } });
    if (!ctx.gatePassThrough) {
      this.lines = new LineGate({
        forward: (b) => { if (this.ws) this.input(this.ws, stream, b); else stream.write(b); },
        say: (message) => this.send({ type: 'notice', message: `Portcullis: ${message}` }),
        pause: () => this.ws?.pause(),
        resume: () => this.ws?.resume(),
        check: (cmd) => ctx.check(cmd),
      }, this.cols, this.rows);
    }
    ctx.signal.addEventListener('abort', () => {
      this.lines?.close();
      for (const t of [this.resizeTimer, this.drainPoll]) if (t) clearTimeout(t);
      // Whatever ended the session (a browser that never came back too), the shell goes.
      upstream.end();
      this.onGone(ctx.id);
    }, { once: true });
    upstream.on('close', () => ctx.ended('upstream-closed'));
    stream.on('data', ctx.guard((b: Buffer) => this.output(b)));
    stream.stderr.on('data', ctx.guard((b: Buffer) => this.output(b)));
    stream.on('close', () => {
      this.send({ type: 'end', reason: 'closed-by-client', message: 'The session ended.' });
      this.ws?.close(1000, 'session ended');
      ctx.ended('closed-by-client');
      upstream.end();
    });
    // Until the browser first attaches, the same grace applies: an opened link nobody uses ends.
    ctx.clientAway(this.deps.graceMs);
  }

  /** A browser (the first, or the same one after a reload) attaches. */
  attach(ws: WebSocket): void {
    const recording = this.deps.liveRecordings.get(this.id);
    if (this.ended || !recording) { ws.close(4410, 'this session has ended'); return; }
    if (this.ws) {
      const old = this.ws;
      this.ws = null;
      old.close(4409, 'this terminal was opened again in another tab');
    }
    this.ctx?.clientBack();
    this.ws = ws;
    this.held = [];
    this.heldBytes = 0;
    // Where "now" is in the recording: the file up to here, then everything held since.
    const { unsubscribe, positions } = recording.subscribe(() => undefined);
    unsubscribe();
    void this.catchUp(ws, recording, positions.get(1) ?? 0);
    // Guarded: a throw while handling one browser's frame ends that session, not the process.
    const handle = ({ data, isBinary }: { data: Buffer; isBinary: boolean }): void => this.fromBrowser(ws, data, isBinary);
    const guarded = this.ctx ? this.ctx.guard(handle) : handle;
    ws.on('message', (data: Buffer, isBinary: boolean) => guarded({ data, isBinary }));
    // An oversized or malformed frame: ws closes the socket (1009/1002); without a listener the
    // error would take the whole process down.
    ws.on('error', (err: Error) => this.ctx?.log.info({ reason: err.message }, 'vendor.socket_error'));
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.held = null;
      this.stream?.resume();
      if (!this.ended) this.ctx?.clientAway(this.deps.graceMs);
    });
  }

  private async catchUp(ws: WebSocket, recording: SessionRecording, upTo: number): Promise<void> {
    try {
      await recording.flush();
      const file = recording.layout.cast(1);
      const { entries } = await openCast(file);
      for await (const { event, end } of entries) {
        if (this.ws !== ws || end > upTo) break;
        if (event?.[1] === 'o') ws.send(Buffer.from(event[2]), { binary: true });
      }
    } catch (err) {
      this.ctx?.log.warn({ err: String(err) }, 'vendor.catch_up_failed');
    }
    if (this.ws !== ws) return;
    const held = this.held ?? [];
    this.held = null;
    this.heldBytes = 0;
    for (const b of held) this.sendOutput(b);
    this.stream?.resume();
  }

  private output(b: Buffer): void {
    this.ctx?.activity();
    this.lines?.output(b);
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
      this.ctx?.log.info({ reason: why }, 'vendor.bad_frame');
      this.sendTo(ws, { type: 'error', code: 'bad-frame', message: why });
      ws.close(1008, why.slice(0, 120));
      return;
    }
    const stream = this.stream;
    if (!stream || !this.writer) return;
    this.ctx?.activity();
    if (m.type === 'input') {
      const bytes = Buffer.from(m.data, 'utf8');
      this.writer.input(bytes);
      // Gate rules are configured: a submitted line passes the gate before its Enter is sent.
      if (this.lines) this.lines.input(bytes);
      else this.input(ws, stream, bytes);
      return;
    }
    // Resize storms are coalesced: the last size wins, applied at most every RESIZE_EVERY_MS.
    this.wantedSize = { cols: m.cols, rows: m.rows };
    if (this.resizeTimer) return;
    const apply = (): void => {
      this.resizeTimer = null;
      const s = this.wantedSize;
      this.wantedSize = null;
      if (!s || this.ended) return;
      stream.setWindow(s.rows, s.cols, 0, 0);
      this.writer?.resize(s.cols, s.rows);
      this.lines?.resize(s.cols, s.rows);
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

  warn(message: string): void {
    this.send({ type: 'notice', message });
  }

  close(reason: TerminationReason, message: string): void {
    this.send({ type: 'end', reason, message: vendorWords(reason, this.opening.auth.target.name) ?? message });
    this.ws?.close(1000, 'session ended');
    this.upstream?.end();
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
