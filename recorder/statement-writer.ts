// Writes a session's statements: one NDJSON line per record in statements.ndjson, and for a
// statement longer than 64 KiB its whole text in a side file `stmt-N.sql` that the record names
// (`sql_file`), with only the text's start and end inline; likewise parameters over 64 KiB in all
// go whole to `stmt-N.params.json` (`params_file`, a JSON array), each long one cut short inline. Crash-safe in this order: the side file
// is written under a temporary name, fsynced, renamed, and the directory fsynced, and only then
// does its record enter the line sink, so a record never names a file that is not there. Records
// keep their order: while a side file is being written, later records wait behind it. It does not
// decide how long a statement may be (the protocol front ends refuse over the hard cap) or what a
// failed write means (reported once through `fail`, the pipeline decides).
import { type FileHandle, open, rename } from 'node:fs/promises';
import type { FileSink } from './file-sink.js';
import { type RecordingLayout, STATEMENTS_FILE, statementParamsFile, statementTextFile } from './layout.js';
import { serializeStatement, type StatementRecord } from './statement-record.js';

/** Statement text up to this many bytes stays in its record; longer text goes to a side file. */
export const INLINE_SQL_BYTES = 64 * 1024;
/** Characters of a long statement's start and of its end kept inline (the end is where padding hides the verb). */
const INLINE_PART_CHARS = 16 * 1024;

export class StatementWriter {
  private sink: FileSink | null = null;
  private count = 0;
  /** Work queued behind a side file (its own line, and every line after it). */
  private queued = 0;
  private tail: Promise<void> = Promise.resolve();
  /** Bytes of side files accepted so far (they count towards the recording's size). */
  sideBytes = 0;

  constructor(
    private readonly layout: RecordingLayout,
    private readonly openSink: (name: string) => FileSink,
    private readonly fail: (err: Error) => void,
    /**
     * Charged with a side file's bytes before it is written (a recording's byte budget); a refused
     * charge means the recording has stopped: the side file is not written.
     */
    private readonly meter?: { take(bytes: number): boolean },
  ) {}

  /** Statements recorded so far. */
  get statements(): number {
    return this.count;
  }

  write(record: StatementRecord): void {
    const n = ++this.count;
    const sink = this.sink ??= this.openSink(STATEMENTS_FILE);
    // Most statements are far under the inline limit: sized by a bound first, not serialized twice.
    if (record.sql.length * 3 <= INLINE_SQL_BYTES && paramsJsonBound(record.params) <= INLINE_SQL_BYTES) {
      this.line(sink, record);
      return;
    }
    const sqlBytes = Buffer.byteLength(record.sql);
    const paramsJson = record.params ? JSON.stringify(record.params) : '';
    const paramsBytes = Buffer.byteLength(paramsJson);
    if (sqlBytes <= INLINE_SQL_BYTES && paramsBytes <= INLINE_SQL_BYTES) {
      this.line(sink, record);
      return;
    }
    // What goes to side files: the statement text, the parameters (a parameter can be SQL that
    // runs), or both; the record keeps the start and end of each inline.
    const files: Array<{ name: string; bytes: Buffer }> = [];
    if (sqlBytes > INLINE_SQL_BYTES) files.push({ name: statementTextFile(n), bytes: Buffer.from(record.sql, 'utf8') });
    if (paramsBytes > INLINE_SQL_BYTES) files.push({ name: statementParamsFile(n), bytes: Buffer.from(paramsJson, 'utf8') });
    const total = files.reduce((sum, f) => sum + f.bytes.length, 0);
    const shortened = (written: boolean): StatementRecord => {
      const { sql_file: _s, params_file: _p, ...rest } = record;
      const out: StatementRecord = { ...rest };
      if (sqlBytes > INLINE_SQL_BYTES) {
        out.sql = inlineSql(record.sql, sqlBytes, written ? statementTextFile(n) : null);
        out.sql_bytes = sqlBytes;
        if (written) out.sql_file = statementTextFile(n);
      }
      if (paramsBytes > INLINE_SQL_BYTES && record.params) {
        out.params = inlineParams(record.params, paramsBytes, written ? statementParamsFile(n) : null);
        out.params_bytes = paramsBytes;
        if (written) out.params_file = statementParamsFile(n);
      }
      return out;
    };
    if (this.meter && !this.meter.take(total)) {
      this.line(sink, shortened(false));
      return;
    }
    this.sideBytes += total;
    this.queued++;
    this.tail = this.tail.then(async () => { for (const f of files) await writeSideFile(this.layout, f.name, f.bytes); }).then(
      () => { this.queued--; sink.write(serializeStatement(shortened(true))); },
      (e: unknown) => {
        this.queued--;
        // The record still goes in (start and end of each part), never pointing at a missing file.
        sink.write(serializeStatement(shortened(false)));
        this.fail(e instanceof Error ? e : new Error(String(e)));
      },
    );
  }

  /** Resolves once every side file queued so far is written and its record handed to the sink. */
  settled(): Promise<void> {
    return this.tail;
  }

  private line(sink: FileSink, record: StatementRecord): void {
    const text = serializeStatement(record);
    if (this.queued === 0) {
      sink.write(text);
      return;
    }
    this.queued++;
    this.tail = this.tail.then(() => { this.queued--; sink.write(text); });
  }
}

/**
 * An upper bound of the parameters' size as JSON in UTF-8 bytes, without serializing them: a UTF-16
 * unit is at most 6 bytes escaped (`\u001f`) or 3 in UTF-8; a null is 4; brackets, quotes, commas.
 */
export function paramsJsonBound(params: ReadonlyArray<string | null> | undefined): number {
  if (!params) return 0;
  let n = 2;
  for (const p of params) n += p === null ? 5 : p.length * 6 + 3;
  return n;
}

/**
 * The inline text of a long statement: its start and its end around a note of the whole size and
 * where the whole text is. Keeping the end matters: `/* 70 KB of padding *\/ UPDATE ...` hides the
 * verb at the end, and search and older readers see only what is inline.
 */
export function inlineSql(sql: string, bytes: number, file: string | null): string {
  const head = cutAt(sql, INLINE_PART_CHARS);
  const tail = sql.slice(cutAt(sql, sql.length - INLINE_PART_CHARS).length);
  const where = file ? `the whole statement is in ${file}` : 'the whole statement could not be written';
  return `${head}\n…[${bytes} bytes in all; ${where}]…\n${tail}`;
}

/** Characters of a long parameter's start and of its end kept inline when the parameters go to a side file. */
const INLINE_PARAM_CHARS = 1024;

/**
 * The inline parameters of a statement whose parameters went to a side file: each long one cut to
 * its start and end around a note of its size and where the whole value is; short ones as they are.
 */
export function inlineParams(params: ReadonlyArray<string | null>, bytes: number, file: string | null): Array<string | null> {
  const where = file ? `all ${bytes} bytes of parameters are in ${file}` : 'the whole parameters could not be written';
  return params.map((p) => {
    if (p === null || p.length <= 2 * INLINE_PARAM_CHARS) return p;
    const head = cutAt(p, INLINE_PARAM_CHARS);
    const tail = p.slice(cutAt(p, p.length - INLINE_PARAM_CHARS).length);
    return `${head}\n…[${Buffer.byteLength(p)} bytes; ${where}]…\n${tail}`;
  });
}

/** The first `n` UTF-16 units, never ending inside a surrogate pair. */
function cutAt(s: string, n: number): string {
  const code = s.charCodeAt(n - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
}

async function writeSideFile(layout: RecordingLayout, name: string, text: Buffer): Promise<void> {
  const path = layout.file(name);
  const tmp = `${path}.tmp`;
  let h: FileHandle | null = await open(tmp, 'w', 0o600);
  try {
    await h.writeFile(text);
    await h.sync();
    await h.close();
    h = null;
  } finally {
    await h?.close();
  }
  await rename(tmp, path);
  // The rename itself must be durable before a record names the file (power loss, not only a crash).
  const dir = await open(layout.dir, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
