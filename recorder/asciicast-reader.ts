// Reads asciicast v2 recordings. Tolerant of what real recordings contain: a last line cut short by
// a crash (ignored, and reported as `truncated`), event codes it does not know (kept, players skip
// them). Bounded: a line longer than MAX_LINE is an error, not a memory spike.
import { createReadStream } from 'node:fs';

export interface CastHeader {
  version: 2;
  width: number;
  height: number;
  timestamp?: number;
  [key: string]: unknown;
}

export type CastEvent = [number, string, string];

export interface CastFile {
  header: CastHeader;
  events: CastEvent[];
  truncated: boolean;
}

const MAX_LINE = 4 * 1024 * 1024;

export class CastFormatError extends Error {}

export function parseHeader(line: string): CastHeader {
  let h: unknown;
  try {
    h = JSON.parse(line);
  } catch {
    throw new CastFormatError('first line is not a JSON header');
  }
  const o = h as Partial<CastHeader>;
  if (!o || o.version !== 2 || typeof o.width !== 'number' || typeof o.height !== 'number') {
    throw new CastFormatError('not an asciicast v2 header');
  }
  return o as CastHeader;
}

/** One event line, or null when the line is not a well-formed event (a torn last line). */
export function parseEvent(line: string): CastEvent | null {
  try {
    const e = JSON.parse(line) as unknown;
    if (Array.isArray(e) && e.length === 3 && typeof e[0] === 'number' && typeof e[1] === 'string' && typeof e[2] === 'string') {
      return e as CastEvent;
    }
  } catch {
    // fall through
  }
  return null;
}

/** One line of a cast file and the byte offset just after it (where the next line starts). */
export interface CastLine { line: string; end: number }

/**
 * The lines of a cast file from byte offset `start`, with offsets, so an index can point into the
 * file and a reader can resume there without reading what comes before.
 */
export async function* castLines(path: string, start = 0): AsyncGenerator<CastLine> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let offset = start;
  for await (const chunk of createReadStream(path, { start, highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
    let from = 0;
    for (let nl = chunk.indexOf(10, from); nl !== -1; nl = chunk.indexOf(10, from)) {
      const piece = chunk.subarray(from, nl);
      const bytes = pendingBytes + piece.length;
      if (bytes > MAX_LINE) throw new CastFormatError('recording line over the size limit');
      const line = (pendingBytes ? Buffer.concat([...pending, piece]) : piece).toString('utf8');
      offset += bytes + 1;
      pending = [];
      pendingBytes = 0;
      from = nl + 1;
      yield { line, end: offset };
    }
    if (from < chunk.length) {
      pending.push(chunk.subarray(from));
      pendingBytes += chunk.length - from;
      if (pendingBytes > MAX_LINE) throw new CastFormatError('recording line over the size limit');
    }
  }
  if (pendingBytes) yield { line: Buffer.concat(pending).toString('utf8'), end: offset + pendingBytes };
}

/** An event with the byte offset after its line, or a torn line (null event). */
export interface CastEntry { event: CastEvent | null; end: number }

/** Streams a cast: the header first (throws if there is none), then every event line with offsets. */
export async function openCast(path: string): Promise<{ header: CastHeader; headerEnd: number; entries: AsyncGenerator<CastEntry> }> {
  const lines = castLines(path);
  let first = await lines.next();
  while (!first.done && first.value.line.length === 0) first = await lines.next();
  if (first.done) throw new CastFormatError('empty recording');
  const header = parseHeader(first.value.line);
  return { header, headerEnd: first.value.end, entries: entriesOf(lines) };
}

/** Event entries of cast lines (after the header); blank lines are skipped. */
export async function* entriesOf(lines: AsyncIterable<CastLine>): AsyncGenerator<CastEntry> {
  for await (const { line, end } of lines) {
    if (line.length === 0) continue;
    yield { event: parseEvent(line), end };
  }
}

/** A whole recording in memory: for short recordings and tests; long ones go through openCast. */
export async function readCast(path: string): Promise<CastFile> {
  const { header, entries } = await openCast(path);
  const events: CastEvent[] = [];
  let truncated = false;
  for await (const { event } of entries) {
    if (event) events.push(event);
    else truncated = true;
  }
  return { header, events, truncated };
}
