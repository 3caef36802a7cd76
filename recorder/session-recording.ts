// Writes one session's recording directory (names and paths from layout.ts, formats in README.md):
// `meta.json` (sidecar metadata, rewritten at the end), `ch-N.cast` (asciicast v2) for each
// terminal channel or channel without a terminal (pipe-cast-writer.ts), `events.ndjson` for structured events (exec summaries, file transfers,
// forwards), `statements.ndjson` for database statements (statement-record.ts; long statement
// text in `stmt-N.sql` side files, statement-writer.ts), and append-only captures (full exec output). It is the SessionTaps implementation the session pipeline writes
// through. Any write failure is reported once through `onFailure`, and so is reaching the byte
// budget (`RecordingBudgetExceeded`); what it means (end the session or go on) is the caller's
// decision. Closing seals the files and meta.json; the derived sidecars (keyframe indexes) and
// search indexing are post-close work the caller schedules (`castPaths`), so a close never starts
// a worker thread of its own.
import { mkdirSync } from 'node:fs';
import { AsciicastWriter, type CastHeader } from './asciicast-writer.js';
import type { SpanSealer } from './masked-spans.js';
import { FileSink } from './file-sink.js';
import { castFile, EVENTS_FILE, execCaptureFile, RecordingLayout } from './layout.js';
import { PipeBudget, PipeCastWriter } from './pipe-cast-writer.js';
import { RECORDING_FORMAT_VERSION, type RecordingMeta, writeRecordingMetaAsync } from './meta.js';
import { RecordingBudget, RecordingBudgetExceeded, type RecordingStop } from './recording-budget.js';
import type { StatementRecord } from './statement-record.js';
import { StatementWriter } from './statement-writer.js';
import type { ByteTap, FileOperation, PipeHeader, PipeTap, SessionTaps, TerminalHeader, TerminalTap } from './taps.js';

export type { RecordingMeta } from './meta.js';
export { RecordingBudgetExceeded, type RecordingStop } from './recording-budget.js';

export interface RecordingOptions {
  /** Record keystrokes ("i" events) in terminal and pipe streams; default yes. */
  keystrokes?: boolean;
  /**
   * Seals input typed at password-like prompts (masked-spans.ts). Without one, masked input cannot
   * be kept, and the first masked keystroke is reported as a recording failure rather than dropped.
   */
  sealer?: SpanSealer;
  /** Limits of channels without a terminal, for the whole session (defaults: PIPE_DEFAULTS). */
  pipe?: PipeLimits;
  /** Byte budget of the whole recording (all its files); 0 or absent: none. */
  maxBytes?: number;
  /** Sees every byte the recording takes (a watch on the volume's free space). */
  tally?: (bytes: number) => void;
}

const NO_KEY: SpanSealer = {
  seal: () => { throw new Error('masked input cannot be sealed: the recording has no key'); },
};

export interface PipeLimits {
  /** Input bytes recorded whole; more ends the session (the callback decides how). */
  inputCap: number;
  /** Bytes of output events (stdout + stderr, as stored) written to casts; past it only digests are kept. */
  outputCap: number;
  /** Input passed the cap: the bytes were refused (not recorded, must not be forwarded). */
  onInputCap(detail: string): void;
}

export const PIPE_DEFAULTS = { inputCap: 16 * 1024 * 1024, outputCap: 8 * 1024 * 1024 } as const;

/** What every open stream (terminal or pipe) takes when the recording marks or closes it. */
interface OpenStream { marker(label: string, metered?: boolean): void; end(): void }

export class SessionRecording implements SessionTaps {
  private readonly sinks: FileSink[] = [];
  private readonly statementWriter: StatementWriter;
  private readonly terminals = new Set<OpenStream>();
  private pipeBudget: PipeBudget | null = null;
  private readonly castSinks = new Map<number, FileSink>();
  private readonly events: FileSink;
  private channels = 0;
  private failed = false;
  private readonly listeners = new Set<(channel: number, e: [number, string, string]) => void>();
  private readonly meta: RecordingMeta;
  private metaWritten: Promise<void> = Promise.resolve();
  private readonly budget: RecordingBudget;
  readonly layout: RecordingLayout;

  constructor(
    readonly dir: string,
    meta: RecordingMeta,
    private readonly now: () => number,
    private readonly onFailure: (err: Error) => void,
    private readonly options: RecordingOptions = {},
  ) {
    this.layout = new RecordingLayout(dir);
    this.meta = { format: RECORDING_FORMAT_VERSION, ...meta };
    const limit = options.maxBytes ?? 0;
    this.budget = new RecordingBudget(limit, () => {
      this.note('budget', `recording stopped: byte budget of ${limit} bytes reached`);
      this.fail(new RecordingBudgetExceeded(limit));
    }, options.tally);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    void this.writeMeta();
    this.events = this.sink(EVENTS_FILE);
    // Side files are charged to the same budget as every other file (their record line through its sink).
    this.statementWriter = new StatementWriter(this.layout, (name) => this.sink(name), (e) => this.fail(e), this.budget);
  }

  private sink(name: string): FileSink {
    const s = new FileSink(this.layout.file(name), { meter: this.budget, onError: (e) => this.fail(e) });
    this.sinks.push(s);
    return s;
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.onFailure(err);
  }

  /** A terminal stream (SessionTaps): ended through the tap, or at the latest when the recording ends. */
  terminal(header: TerminalHeader): TerminalTap {
    const w = this.terminalWriter(header, this.options.keystrokes ?? true);
    return {
      output: (b) => w.output(b),
      input: (b) => w.input(b),
      resize: (c, r) => w.resize(c, r),
      marker: (label) => w.marker(label),
      end: () => this.endTerminal(w),
    };
  }

  /** A new terminal recording for a channel with a pty. */
  terminalWriter(header: Omit<CastHeader, 'timestamp'>, keystrokes: boolean): AsciicastWriter {
    const n = ++this.channels;
    const castSink = this.sink(castFile(n));
    this.castSinks.set(n, castSink);
    const w = new AsciicastWriter(castSink, {
      ...header, timestamp: Math.floor(this.now() / 1000),
      portcullis: { session: this.meta.session, channel: n, user: this.meta.user, target: this.meta.target, grant: this.meta.grant },
    }, this.now, keystrokes, (e) => { for (const l of this.listeners) l(n, e); }, {
      sealer: this.options.sealer ?? NO_KEY, session: this.meta.session, channel: n, onError: (e) => this.fail(e),
    });
    this.terminals.add(w);
    return w;
  }

  /** A channel without a terminal (SessionTaps): its input, stdout and stderr in one cast. */
  pipe(header: PipeHeader): PipeTap {
    const limits = this.options.pipe ?? { ...PIPE_DEFAULTS, onInputCap: (detail: string) => this.fail(new Error(detail)) };
    this.pipeBudget ??= new PipeBudget(limits.inputCap, limits.outputCap, (detail) => limits.onInputCap(detail));
    const n = ++this.channels;
    const castSink = this.sink(castFile(n));
    this.castSinks.set(n, castSink);
    const w = new PipeCastWriter(castSink, {
      timestamp: Math.floor(this.now() / 1000), ...(header.command !== undefined ? { command: header.command } : {}),
      portcullis: { session: this.meta.session, channel: n, user: this.meta.user, target: this.meta.target, grant: this.meta.grant },
    }, this.now, this.pipeBudget, this.options.keystrokes ?? true, (e) => { for (const l of this.listeners) l(n, e); });
    this.terminals.add(w);
    return {
      channel: n, input: (b) => w.input(b), stdout: (b) => w.stdout(b), stderr: (b) => w.stderr(b), marker: (label) => w.marker(label),
      end: () => this.endTerminal(w),
    };
  }

  endTerminal(w: OpenStream): void {
    w.end();
    this.terminals.delete(w);
  }

  /**
   * Live terminal events from now on, and where "now" is in each channel's file: a viewer reads
   * the file up to that byte after flush() and takes everything later from the subscription, so it
   * sees each event exactly once.
   */
  subscribe(fn: (channel: number, e: [number, string, string]) => void): { unsubscribe: () => void; positions: Map<number, number> } {
    this.listeners.add(fn);
    const positions = new Map([...this.castSinks].map(([n, s]) => [n, s.written]));
    return { unsubscribe: () => this.listeners.delete(fn), positions };
  }

  /** Writes out everything written so far (a live viewer reads the files after this). */
  async flush(): Promise<void> {
    await this.statementWriter.settled();
    await Promise.all(this.sinks.map((s) => s.flush()));
  }

  /** The newest terminal channel, or 0 when none was opened yet. */
  get lastChannel(): number {
    return this.channels;
  }

  /** An append-only file of the recording by its layout name (layout.ts), e.g. `exec-3.stdout`. */
  capture(name: string): FileSink {
    return this.sink(name);
  }

  /** A structured event, one NDJSON line with its time. */
  event(kind: string, data: Record<string, unknown>): void {
    this.events.write(JSON.stringify({ t: new Date(this.now()).toISOString(), kind, ...data }) + '\n');
  }

  /**
   * One database statement record (statements.ndjson, created with the first statement); a text
   * over 64 KiB goes whole into a side file the record names (statement-writer.ts).
   */
  statement(record: StatementRecord): void {
    this.statementWriter.write(record);
  }

  /** Statements recorded so far. */
  get statements(): number {
    return this.statementWriter.statements;
  }

  fileOperation(op: FileOperation): void {
    this.event('sftp', { ...op });
  }

  captureExec(channel?: number): { stdout: ByteTap; stderr: ByteTap } {
    const n = channel ?? this.nextChannel();
    return { stdout: this.capture(execCaptureFile(n, 'stdout')), stderr: this.capture(execCaptureFile(n, 'stderr')) };
  }

  end(reason: string): Promise<void> {
    return this.close(reason);
  }

  /** Bytes recorded so far, all files together, statement side files included (what the budget counts). */
  get bytes(): number {
    return this.budget.used;
  }

  /** Why the recording stopped before its end, or null while it records. */
  get stopped(): RecordingStop | null {
    return this.budget.stopped;
  }

  /**
   * Stops recording for a session that goes on unrecorded (its policy allows it) while the
   * recordings volume is low: one line says so in the events and each open terminal, then every
   * later write is dropped. The session's end still seals the files and meta.json.
   */
  stop(cause: RecordingStop, why: string): void {
    if (this.budget.stop(cause)) this.note(cause, why);
  }

  /** The bounded lines that say why a recording stopped; written past the budget on purpose. */
  private note(cause: RecordingStop, why: string): void {
    for (const t of this.terminals) t.marker(why, false);
    this.events.write(JSON.stringify({ t: new Date(this.now()).toISOString(), kind: 'recording-stopped', cause, bytes: this.budget.used, why }) + '\n', false);
  }

  /** The terminal recordings of this session, for post-close work (keyframe indexes). */
  castPaths(): string[] {
    return this.layout.castChannels().map((c) => this.layout.cast(c));
  }

  /** A marker in every open terminal recording, and in the event log. */
  marker(label: string): void {
    for (const t of this.terminals) t.marker(label);
    this.event('marker', { label });
  }

  nextChannel(): number {
    return ++this.channels;
  }

  async close(reason: string): Promise<void> {
    for (const t of this.terminals) t.end();
    this.terminals.clear();
    // Side files still being written go first: their records are appended once they are on disk.
    await this.statementWriter.settled();
    await Promise.all(this.sinks.map((s) => s.close()));
    this.meta.ended_at = new Date(this.now()).toISOString();
    this.meta.end_reason = reason;
    this.meta.channels = this.channels;
    await this.writeMeta();
  }

  /**
   * Written off the event loop, one after another (the end never overtaken by the start). A crash
   * before the first lands leaves no meta.json: crash recovery goes by the store's session row.
   */
  private writeMeta(): Promise<void> {
    const meta = { ...this.meta };
    this.metaWritten = this.metaWritten.then(() => writeRecordingMetaAsync(this.layout.meta, meta))
      .catch((e: unknown) => this.fail(e instanceof Error ? e : new Error(String(e))));
    return this.metaWritten;
  }
}
