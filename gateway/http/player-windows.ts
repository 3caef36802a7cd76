// Windows of a terminal recording for the browser player: the keyframe at or before `from` plus
// the events up to `to`, so a page never loads a whole long recording and a seek anywhere costs at
// most one keyframe interval of replay. The server never holds a whole recording either: it keeps
// each file's index (header, markers, keyframes with byte offsets) and reads a window from the
// keyframe's offset on.
import { readFileSync, statSync } from 'node:fs';
import { type CastEvent, castLines, entriesOf } from '../../recorder/asciicast-reader.js';
import { displayFor } from '../../recorder/cast-display.js';
import { buildIndex, type CastIndex, type KeyframeFile, keyframePath, writeKeyframesOffThread } from '../../recorder/keyframes.js';
import type { PlayerWindow } from '../api-types.js';

export type { PlayerWindow };

interface Entry { size: number; mtime: number; index: CastIndex }
const cache = new Map<string, Entry>();
const MAX_CACHED = 32;
/** Bytes of events one window may carry; a busy stretch is cut at an event boundary and continued. */
export const MAX_WINDOW_BYTES = 4 * 1024 * 1024;
/** Event codes the player understands; anything else in a file (a newer writer's codes) is skipped. */
const PLAYABLE = new Set(['o', 'r', 'm', 'i']);

async function load(path: string): Promise<CastIndex> {
  const st = statSync(path);
  const hit = cache.get(path);
  if (hit && hit.size === st.size && hit.mtime === st.mtimeMs) return hit.index;
  let index = readSidecar(path, st.size);
  if (!index) {
    // Built off the main thread, like at recording close; in-process only if the worker could not run.
    await writeKeyframesOffThread(path);
    index = readSidecar(path, st.size) ?? await buildIndex(path);
  }
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(path, { size: st.size, mtime: st.mtimeMs, index });
  return index;
}

/** The index written when the recording closed, if it belongs to this exact file. */
function readSidecar(path: string, size: number): CastIndex | null {
  try {
    const k = JSON.parse(readFileSync(keyframePath(path), 'utf8')) as Partial<KeyframeFile>;
    const ok = k.castBytes === size && k.header && Array.isArray(k.markers) && Array.isArray(k.frames) && k.frames.length > 0
      && typeof k.frames[0]?.offset === 'number';
    return ok ? k as CastIndex : null;
  } catch {
    return null;
  }
}

export async function playerWindow(path: string, from: number, span: number): Promise<PlayerWindow> {
  const index = await load(path);
  let k = index.frames[0]!;
  for (const f of index.frames) if (f.t <= from) k = f; else break;
  const to = from + span;
  // A pipe cast is sent as the screen shows it, the same view its keyframes were built from.
  const display = displayFor(index.header);
  const events: CastEvent[] = [];
  let bytes = 0;
  let next: number | null = null;
  for await (const { event, end } of entriesOf(castLines(path, k.offset))) {
    if (end > index.castBytes) break;
    if (!event) continue;
    if (event[0] > to) { next = to; break; }
    // Cut a busy window only past `from` and between distinct times, so the client can resume at
    // the last time it got without losing an event that shares it.
    const last = events[events.length - 1];
    if (bytes > MAX_WINDOW_BYTES && last && last[0] > from && event[0] > last[0]) { next = last[0]; break; }
    const shown = display(event);
    if (!PLAYABLE.has(shown[1])) continue;
    events.push(shown);
    bytes += shown[2].length;
  }
  return {
    header: index.header, duration: index.duration, truncated: index.truncated, markers: index.markers,
    keyframe: { t: k.t, cols: k.cols, rows: k.rows, snapshot: k.snapshot }, events, next,
  };
}
