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
    return json;
  }
  const time = typeof rec.time === 'string' ? rec.time.slice(11, 19) : '';
  const level = (LEVELS[Number(rec.level)] ?? String(rec.level)).padEnd(5);
  const fields = Object.entries(rec).filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/[\s"]/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`);
  return [time, level, typeof rec.msg === 'string' ? rec.msg : '', ...fields].filter(Boolean).join(' ');
}

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
