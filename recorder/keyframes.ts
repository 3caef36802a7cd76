// Keyframes for seeking in terminal recordings: every ~10 s or 256 KB of output, a snapshot of the
// terminal (serialized with @xterm/addon-serialize from a headless xterm). Seeking to t restores the
// nearest keyframe at or before t and replays only the output after it, so a seek anywhere in a
// long recording costs at most one keyframe interval of replay.
// Both packages are CommonJS: Node's ESM loader only gives them a default export.
import serializePkg from '@xterm/addon-serialize';
import headlessPkg from '@xterm/headless';
import type { Terminal as HeadlessTerminal } from '@xterm/headless';

const { SerializeAddon } = serializePkg;
const { Terminal } = headlessPkg;
type Terminal = HeadlessTerminal;
type SerializeAddon = InstanceType<typeof SerializeAddon>;
import { statSync } from 'node:fs';
import { writeFileAtomic } from './atomic-file.js';
import { type CastEvent, type CastFile, type CastHeader, openCast } from './asciicast-reader.js';
import { displayFor } from './cast-display.js';
import { KeyframeWorkers } from './keyframe-workers.js';
import { keyframePath } from './layout.js';

export interface Keyframe {
  /** Time of the last event folded into the snapshot. */
  t: number;
  /** Index of the first event not folded in. */
  next: number;
  /** Byte offset in the cast file of the first event not folded in. */
  offset: number;
  cols: number;
  rows: number;
  snapshot: string;
}

export const KEYFRAME_SECONDS = 10;
export const KEYFRAME_BYTES = 256 * 1024;

function terminal(cols: number, rows: number): { term: Terminal; ser: SerializeAddon } {
  const term = new Terminal({ cols, rows, allowProposedApi: true, scrollback: 0 });
  const ser = new SerializeAddon();
  term.loadAddon(ser);
  return { term, ser };
}

const write = (term: Terminal, data: string): Promise<void> => new Promise((r) => term.write(data, r));

/**
 * Feeds events to a terminal. Output is queued without waiting for each write: xterm parses its
 * queue in batches between timer ticks, so awaiting every event costs a timer tick per event (an
 * hour of output took 40 s of mostly idle waiting). The queue is drained before a resize (which
 * must apply in order), before a snapshot, and every MAX_QUEUED characters to bound memory.
 */
class Feeder {
  private queued = 0;
  constructor(readonly term: Terminal) {}

  async apply(e: CastEvent): Promise<void> {
    if (e[1] === 'o') {
      this.term.write(e[2]);
      this.queued += e[2].length;
      if (this.queued >= MAX_QUEUED) await this.drain();
    } else if (e[1] === 'r') {
      const m = /^(\d+)x(\d+)$/.exec(e[2]);
      if (m) {
        await this.drain();
        this.term.resize(Math.max(1, Number(m[1])), Math.max(1, Number(m[2])));
      }
    }
  }

  async drain(): Promise<void> {
    if (this.queued === 0) return;
    this.queued = 0;
    await write(this.term, '');
  }
}
const MAX_QUEUED = 1024 * 1024;

/** Folds events into a headless terminal and takes a snapshot every `seconds` or `bytes` of output. */
class FrameBuilder {
  readonly frames: Keyframe[];
  private readonly term: Terminal;
  private readonly ser: SerializeAddon;
  private readonly feed: Feeder;
  private readonly display: (e: CastEvent) => CastEvent;
  private lastT = 0;
  private sinceBytes = 0;

  constructor(header: CastHeader, headerEnd: number, private readonly seconds: number, private readonly bytes: number) {
    ({ term: this.term, ser: this.ser } = terminal(header.width, header.height));
    this.feed = new Feeder(this.term);
    this.display = displayFor(header);
    this.frames = [{ t: 0, next: 0, offset: headerEnd, cols: this.term.cols, rows: this.term.rows, snapshot: '' }];
  }

  async add(recorded: CastEvent, index: number, end: number): Promise<void> {
    // A pipe cast's input, stdout and stderr are drawn as the player draws them (cast-display.ts).
    const e = this.display(recorded);
    await this.feed.apply(e);
    if (e[1] === 'o') this.sinceBytes += e[2].length;
    if (e[0] - this.lastT >= this.seconds || this.sinceBytes >= this.bytes) {
      await this.feed.drain();
      this.frames.push({ t: e[0], next: index + 1, offset: end, cols: this.term.cols, rows: this.term.rows, snapshot: this.ser.serialize() });
      this.lastT = e[0];
      this.sinceBytes = 0;
    }
  }

  dispose(): void { this.term.dispose(); }
}

/** Keyframes of a recording held in memory (offsets are not known: 0). */
export async function buildKeyframes(cast: CastFile, seconds = KEYFRAME_SECONDS, bytes = KEYFRAME_BYTES): Promise<Keyframe[]> {
  const b = new FrameBuilder(cast.header, 0, seconds, bytes);
  for (let i = 0; i < cast.events.length; i++) await b.add(cast.events[i]!, i, 0);
  b.dispose();
  return b.frames;
}

export interface Marker { t: number; label: string }
/** Markers kept per recording: enough for a seek bar, bounded for a recording full of them. */
export const MAX_MARKERS = 2000;

/**
 * What a player needs to open a recording without reading it: header, duration, markers and
 * keyframes with byte offsets. Valid for a cast of exactly `castBytes` bytes.
 */
export interface CastIndex {
  castBytes: number;
  header: CastHeader;
  duration: number;
  truncated: boolean;
  markers: Marker[];
  frames: Keyframe[];
}
/** The sidecar file holds the index. */
export type KeyframeFile = CastIndex;

/** Streams a cast file once and builds its index; memory stays bounded by one terminal. */
export async function buildIndex(castPath: string, seconds = KEYFRAME_SECONDS, bytes = KEYFRAME_BYTES): Promise<CastIndex> {
  const castBytes = statSync(castPath).size;
  const { header, headerEnd, entries } = await openCast(castPath);
  const b = new FrameBuilder(header, headerEnd, seconds, bytes);
  const markers: Marker[] = [];
  let truncated = false;
  let duration = 0;
  let i = 0;
  try {
    for await (const { event, end } of entries) {
      if (end > castBytes) break; // written after we started: the next index covers it
      if (!event) { truncated = true; continue; }
      await b.add(event, i++, end);
      duration = Math.max(duration, event[0]);
      if (event[1] === 'm' && markers.length < MAX_MARKERS) markers.push({ t: event[0], label: event[2] });
    }
  } finally {
    b.dispose();
  }
  return { castBytes, header, duration, truncated, markers, frames: b.frames };
}

/** The sidecar's name is the layout's to decide; re-exported for the index's readers. */
export { keyframePath };

/** Builds and writes the index of a finished recording, so the first open and seek are as fast as any. */
export async function writeKeyframes(castPath: string): Promise<void> {
  const index = await buildIndex(castPath);
  // Through a rename: a full disk leaves no sidecar (rebuilt on first open), never an empty one.
  writeFileAtomic(keyframePath(castPath), JSON.stringify(index satisfies KeyframeFile));
}

/** Heap of one keyframe worker: a busy hour of output indexes in well under this. */
export const KEYFRAME_WORKER_HEAP_MB = 384;
/** A worker still running after this is stopped (its sidecar is then built on first open). */
export const KEYFRAME_WORKER_TIMEOUT_MS = 10 * 60_000;

const workers = new Map<string, KeyframeWorkers>();

/**
 * writeKeyframes in a worker thread: replaying an hour of busy output through a terminal emulator
 * takes tens of seconds of CPU, which on the main thread would stall every live relay. Resolves
 * when done or failed (a missing sidecar only makes the first seek slower). Two long-lived threads
 * (keyframe-workers.ts) take the jobs in turn, each with a bounded heap and time; how many are
 * queued is the caller's to bound (the gateway runs them in its post-close pool).
 */
export function writeKeyframesOffThread(castPath: string, heapMb = KEYFRAME_WORKER_HEAP_MB, timeoutMs = KEYFRAME_WORKER_TIMEOUT_MS): Promise<void> {
  const key = `${heapMb}/${timeoutMs}`;
  let w = workers.get(key);
  if (!w) workers.set(key, w = new KeyframeWorkers(2, heapMb, timeoutMs));
  return w.run(castPath);
}

/** The terminal as it is at time t, built from the nearest keyframe. Caller disposes it. */
export async function screenAt(cast: CastFile, frames: Keyframe[], t: number): Promise<Terminal> {
  let k = frames[0]!;
  for (const f of frames) if (f.t <= t) k = f; else break;
  const { term } = terminal(k.cols, k.rows);
  if (k.snapshot) await write(term, k.snapshot);
  const feed = new Feeder(term);
  for (let i = k.next; i < cast.events.length && cast.events[i]![0] <= t; i++) await feed.apply(cast.events[i]!);
  await feed.drain();
  return term;
}

/** The terminal at time t by playing every event from the start (the reference for seeking). */
export async function screenByPlaying(cast: CastFile, t: number): Promise<Terminal> {
  const { term } = terminal(cast.header.width, cast.header.height);
  const feed = new Feeder(term);
  for (const e of cast.events) {
    if (e[0] > t) break;
    await feed.apply(e);
  }
  await feed.drain();
  return term;
}

/** Visible text and per-cell attributes, for comparing two screens cell by cell. */
export function screenCells(term: Terminal): string[] {
  const out: string[] = [];
  const buf = term.buffer.active;
  for (let y = 0; y < term.rows; y++) {
    const line = buf.getLine(buf.viewportY + y);
    if (!line) { out.push(''); continue; }
    let row = '';
    for (let x = 0; x < term.cols; x++) {
      const c = line.getCell(x);
      row += c ? `${c.getChars() || ' '}|${c.getFgColor()}.${c.getBgColor()}.${c.isBold()}.${c.isInverse()};` : ' ;';
    }
    out.push(row);
  }
  out.push(`cursor ${buf.cursorX},${buf.cursorY}`);
  return out;
}
