// Keyframes for seeking in terminal recordings: every ~10 s or 256 KB of output, a snapshot of the
// terminal (serialized with @xterm/addon-serialize from a headless xterm). Seeking to t restores the
// nearest keyframe at or before t and replays only the output after it, so a seek anywhere in a
// long recording costs at most one keyframe interval of replay.
import { Worker } from 'node:worker_threads';
// Both packages are CommonJS: Node's ESM loader only gives them a default export.
import serializePkg from '@xterm/addon-serialize';
import headlessPkg from '@xterm/headless';
import type { Terminal as HeadlessTerminal } from '@xterm/headless';

const { SerializeAddon } = serializePkg;
const { Terminal } = headlessPkg;
type Terminal = HeadlessTerminal;
type SerializeAddon = InstanceType<typeof SerializeAddon>;
import type { CastEvent, CastFile } from './asciicast-reader.js';

export interface Keyframe {
  /** Time of the last event folded into the snapshot. */
  t: number;
  /** Index of the first event not folded in. */
  next: number;
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

/** Applies one event to a terminal: output is written, resizes resize; input and markers change nothing. */
async function apply(term: Terminal, e: CastEvent): Promise<void> {
  if (e[1] === 'o') await write(term, e[2]);
  else if (e[1] === 'r') {
    const m = /^(\d+)x(\d+)$/.exec(e[2]);
    if (m) term.resize(Math.max(1, Number(m[1])), Math.max(1, Number(m[2])));
  }
}

export async function buildKeyframes(cast: CastFile, seconds = KEYFRAME_SECONDS, bytes = KEYFRAME_BYTES): Promise<Keyframe[]> {
  const { term, ser } = terminal(cast.header.width, cast.header.height);
  const frames: Keyframe[] = [{ t: 0, next: 0, cols: term.cols, rows: term.rows, snapshot: '' }];
  let lastT = 0;
  let sinceBytes = 0;
  for (let i = 0; i < cast.events.length; i++) {
    const e = cast.events[i]!;
    await apply(term, e);
    if (e[1] === 'o') sinceBytes += e[2].length;
    if (e[0] - lastT >= seconds || sinceBytes >= bytes) {
      frames.push({ t: e[0], next: i + 1, cols: term.cols, rows: term.rows, snapshot: ser.serialize() });
      lastT = e[0];
      sinceBytes = 0;
    }
  }
  term.dispose();
  return frames;
}

/** Sidecar file of a cast's keyframes, valid for a cast of exactly `castBytes` bytes. */
export interface KeyframeFile { castBytes: number; frames: Keyframe[] }

export function keyframePath(castPath: string): string {
  return castPath.replace(/\.cast$/, '.keyframes.json');
}

/** Builds and writes the keyframes of a finished recording, so the first seek is as fast as any. */
export async function writeKeyframes(castPath: string): Promise<void> {
  const { readCast } = await import('./asciicast-reader.js');
  const { statSync, writeFileSync } = await import('node:fs');
  const castBytes = statSync(castPath).size;
  const frames = await buildKeyframes(await readCast(castPath));
  writeFileSync(keyframePath(castPath), JSON.stringify({ castBytes, frames } satisfies KeyframeFile), { mode: 0o600 });
}

/**
 * writeKeyframes in a worker thread: replaying an hour of busy output through a terminal emulator
 * takes tens of seconds of CPU, which on the main thread would stall every live relay. Resolves
 * when done or failed (a missing sidecar only makes the first seek slower).
 */
export function writeKeyframesOffThread(castPath: string): Promise<void> {
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = new Worker(new URL('./keyframe-worker.js', import.meta.url), { workerData: { castPath }, resourceLimits: { maxOldGenerationSizeMb: 2048 } });
    } catch {
      resolve();
      return;
    }
    worker.once('error', () => resolve());
    worker.once('exit', () => resolve());
  });
}

/** The terminal as it is at time t, built from the nearest keyframe. Caller disposes it. */
export async function screenAt(cast: CastFile, frames: Keyframe[], t: number): Promise<Terminal> {
  let k = frames[0]!;
  for (const f of frames) if (f.t <= t) k = f; else break;
  const { term } = terminal(k.cols, k.rows);
  if (k.snapshot) await write(term, k.snapshot);
  for (let i = k.next; i < cast.events.length && cast.events[i]![0] <= t; i++) await apply(term, cast.events[i]!);
  return term;
}

/** The terminal at time t by playing every event from the start (the reference for seeking). */
export async function screenByPlaying(cast: CastFile, t: number): Promise<Terminal> {
  const { term } = terminal(cast.header.width, cast.header.height);
  for (const e of cast.events) {
    if (e[0] > t) break;
    await apply(term, e);
  }
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
