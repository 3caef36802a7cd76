// Log lines for a person at a terminal: `portcullis serve` writes these when its stdout is a TTY
// and pino's JSON lines otherwise (a collector reads those). Same records, same redaction (pino
// redacts before this stream sees a line); only the layout differs: time, level, message, fields.
import { Writable } from 'node:stream';

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'msg', 'app', 'pid', 'hostname']);

/** One JSON log record → `12:00:01 info  serve.started url=https://… ports={"https":8443}`. */
export function humanLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return escapeUnsafe(json);
  }
  const time = typeof rec.time === 'string' ? rec.time.slice(11, 19) : '';
  const level = (LEVELS[Number(rec.level)] ?? String(rec.level)).padEnd(5);
  const fields = Object.entries(rec).filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${escapeUnsafe(k)}=${typeof v === 'string' ? shown(v) : escapeUnsafe(JSON.stringify(v) ?? String(v))}`);
  return [time, level, typeof rec.msg === 'string' ? escapeUnsafe(rec.msg) : '', ...fields].filter(Boolean).join(' ');
}

// Field values come from clients (an Origin header, an SSH forward's host, a refusal that names
// what was asked for): ESC, C1 controls (U+009B is CSI) and bidi or invisible marks must never
// reach the terminal raw. JSON.stringify escapes C0 only, so the rest is escaped here.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;
const escapeUnsafe = (s: string): string => s.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
/** Bare when plain; quoted (JSON) when it has spaces, quotes or anything unsafe. */
const shown = (v: string): string => (/[\s"\\]/.test(v) || v.search(UNSAFE) >= 0 ? escapeUnsafe(JSON.stringify(v)) : v);

export function humanDestination(out: NodeJS.WritableStream): Writable {
  let partial = '';
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) if (l) out.write(humanLine(l) + '\n');
      done();
    },
  });
}
