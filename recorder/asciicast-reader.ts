// Reads asciicast v2 recordings. Tolerant of what real recordings contain: a last line cut short by
// a crash (ignored, and reported as `truncated`), event codes it does not know (kept, players skip
// them). Bounded: a line longer than MAX_LINE is an error, not a memory spike.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

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

export async function readCast(path: string): Promise<CastFile> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let header: CastHeader | null = null;
  const events: CastEvent[] = [];
  let truncated = false;
  for await (const line of lines) {
    if (line.length > MAX_LINE) throw new CastFormatError('recording line over the size limit');
    if (line.length === 0) continue;
    if (!header) { header = parseHeader(line); continue; }
    const e = parseEvent(line);
    if (e) events.push(e);
    else truncated = true;
  }
  if (!header) throw new CastFormatError('empty recording');
  return { header, events, truncated };
}
