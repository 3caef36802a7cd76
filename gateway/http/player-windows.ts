// Windows of a terminal recording for the browser player: the keyframe at or before `from` plus
// the events up to `to`, so a page never loads a whole long recording and a seek anywhere costs at
// most one keyframe interval of replay. Keyframes are built once per file and cached by size/mtime.
import { readFileSync, statSync } from 'node:fs';
import { type CastEvent, type CastFile, readCast } from '../../recorder/asciicast-reader.js';
import { buildKeyframes, type Keyframe, type KeyframeFile, keyframePath, writeKeyframesOffThread } from '../../recorder/keyframes.js';

interface Entry { size: number; mtime: number; cast: CastFile; frames: Keyframe[] }
const cache = new Map<string, Entry>();
const MAX_CACHED = 32;

async function load(path: string): Promise<Entry> {
  const st = statSync(path);
  const hit = cache.get(path);
  if (hit && hit.size === st.size && hit.mtime === st.mtimeMs) return hit;
  const cast = await readCast(path);
  let frames = readSidecar(path, st.size);
  if (!frames) {
    // Built off the main thread, like at recording close; in-process only if the worker could not run.
    await writeKeyframesOffThread(path);
    frames = readSidecar(path, st.size) ?? await buildKeyframes(cast);
  }
  const entry = { size: st.size, mtime: st.mtimeMs, cast, frames };
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(path, entry);
  return entry;
}

/** Keyframes written when the recording closed, if they belong to this exact file. */
function readSidecar(path: string, size: number): Keyframe[] | null {
  try {
    const k = JSON.parse(readFileSync(keyframePath(path), 'utf8')) as KeyframeFile;
    return k.castBytes === size && Array.isArray(k.frames) && k.frames.length > 0 ? k.frames : null;
  } catch {
    return null;
  }
}

export interface PlayerWindow {
  header: CastFile['header'];
  duration: number;
  truncated: boolean;
  markers: Array<{ t: number; label: string }>;
  keyframe: { t: number; cols: number; rows: number; snapshot: string };
  events: CastEvent[];
  /** Where the next window starts (null at the end). */
  next: number | null;
}

export async function playerWindow(path: string, from: number, span: number): Promise<PlayerWindow> {
  const { cast, frames } = await load(path);
  let k = frames[0]!;
  for (const f of frames) if (f.t <= from) k = f; else break;
  const to = from + span;
  const events: CastEvent[] = [];
  let i = k.next;
  for (; i < cast.events.length && cast.events[i]![0] <= to; i++) {
    const e = cast.events[i]!;
    if (e[1] === 'o' || e[1] === 'r' || e[1] === 'm' || e[1] === 'i') events.push(e);
  }
  const duration = cast.events.length ? cast.events[cast.events.length - 1]![0] : 0;
  return {
    header: cast.header, duration, truncated: cast.truncated,
    markers: cast.events.filter((e) => e[1] === 'm').map((e) => ({ t: e[0], label: e[2] })),
    keyframe: { t: k.t, cols: k.cols, rows: k.rows, snapshot: k.snapshot },
    events, next: i < cast.events.length ? to : null,
  };
}
