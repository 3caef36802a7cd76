// Reads statements.ndjson into current StatementRecords: every line is validated against the
// schema (unknown keys are dropped, so additive fields of later writers are harmless), records
// written before the schema was versioned (no `v`: PostgreSQL's and MySQL's own shapes) are
// upgraded, and what cannot be read is counted, never thrown: a torn last line (a crash mid-write)
// sets `truncated`, a bad line elsewhere `skipped`, a record of a newer schema `newer`. Streams:
// a statement log of millions of records never sits in memory here. Writes nothing.
import { castLines } from './asciicast-reader.js';
import { isStatementParamsFile, isStatementTextFile } from './layout.js';
import {
  type CopyTransfer, pgRowCounts, STATEMENT_PATHS, STATEMENT_RECORD_VERSION, type StatementError, type StatementFileSummary,
  type StatementPage, type StatementPath, type StatementProtocol, type StatementRecord, statementRecord,
} from './statement-record.js';

/** Why a line is not a record: not JSON at all, not a valid record, or written by a newer schema. */
export type StatementProblem = 'not-json' | 'invalid' | 'newer-version';
export type StatementLine = { ok: true; record: StatementRecord } | { ok: false; problem: StatementProblem };

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;
const optional = <T>(x: unknown, check: (y: unknown) => y is T): x is T | undefined => x === undefined || check(x);
const isString = (x: unknown): x is string => typeof x === 'string';
const isParams = (x: unknown): x is Array<string | null> => Array.isArray(x) && x.every((p) => p === null || typeof p === 'string');
const isCopy = (x: unknown): x is CopyTransfer => isObj(x) && (x.direction === 'in' || x.direction === 'out') && isCount(x.bytes);
const isDuration = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
/** Only a name the recorder writes: a record must never make a reader open another path. */
const isSideFile = (x: unknown): x is string => typeof x === 'string' && isStatementTextFile(x);
const isParamsFile = (x: unknown): x is string => typeof x === 'string' && isStatementParamsFile(x);
const isTime = (x: unknown): x is string => typeof x === 'string' && !Number.isNaN(Date.parse(x));

/**
 * One line as a current record. `hint` is the session's protocol (meta.json `protocol`), used to
 * read unversioned records; without it the record's own shape decides.
 */
export function parseStatementLine(line: string, hint?: StatementProtocol): StatementLine {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, problem: 'not-json' };
  }
  return toStatementRecord(raw, hint);
}

/** A parsed JSON value as a current record (validated, or upgraded from the unversioned shapes). */
export function toStatementRecord(raw: unknown, hint?: StatementProtocol): StatementLine {
  if (!isObj(raw)) return { ok: false, problem: 'invalid' };
  if (raw.v === undefined) {
    const record = upgradeUnversioned(raw, hint);
    return record ? { ok: true, record } : { ok: false, problem: 'invalid' };
  }
  if (typeof raw.v === 'number' && raw.v > STATEMENT_RECORD_VERSION) return { ok: false, problem: 'newer-version' };
  const record = raw.v === STATEMENT_RECORD_VERSION ? validateV1(raw) : null;
  return record ? { ok: true, record } : { ok: false, problem: 'invalid' };
}

function validateV1(o: Obj): StatementRecord | null {
  const e = o.error;
  const error = e === null ? null : isObj(e) && isString(e.sqlstate) && (e.code === null || typeof e.code === 'number') && isString(e.message)
    ? { sqlstate: e.sqlstate, code: e.code, message: e.message } : undefined;
  const countOrNull = (x: unknown): x is number | null => x === null || isCount(x);
  // isTime's check, with the time parsed once (reading a long statement log back is per record).
  const start = typeof o.t === 'string' ? Date.parse(o.t) : Number.NaN;
  if ((o.protocol !== 'postgres' && o.protocol !== 'mysql') || Number.isNaN(start) || !isDuration(o.duration_ms)
    || !isString(o.sql) || !STATEMENT_PATHS.includes(o.path as StatementPath) || error === undefined
    || !countOrNull(o.rows_returned) || !countOrNull(o.rows_affected)
    || !optional(o.statement, isString) || !optional(o.portal, isString) || !optional(o.params, isParams)
    || !optional(o.function_oid, isCount) || !optional(o.command, isString) || !optional(o.copy, isCopy)
    || !optional(o.function_name, isString) || !(o.result_bytes === undefined || countOrNull(o.result_bytes))
    || !optional(o.sql_file, isSideFile) || !optional(o.sql_bytes, isCount)
    || !optional(o.params_file, isParamsFile) || !optional(o.params_bytes, isCount)
    || !(o.suspended === undefined || o.suspended === true)) return null;
  return statementRecord({
    protocol: o.protocol, start, end: start + o.duration_ms, sql: o.sql, path: o.path as StatementPath,
    statement: o.statement, portal: o.portal, params: o.params, functionOid: o.function_oid, command: o.command,
    functionName: o.function_name, resultBytes: o.result_bytes, sqlFile: o.sql_file, sqlBytes: o.sql_bytes,
    paramsFile: o.params_file, paramsBytes: o.params_bytes, rowsReturned: o.rows_returned, rowsAffected: o.rows_affected, suspended: o.suspended, error, copy: o.copy,
  });
}

const LEGACY_PG_PATHS = new Set(['simple', 'extended', 'function-call']);
const LEGACY_MYSQL_PATHS = new Map<string, StatementPath>([['query', 'simple'], ['prepared', 'prepared'], ['init-db', 'init-db']]);

/**
 * Records written before the schema had a version: PostgreSQL's (`rows` = the tag's number,
 * `rows_returned` = DataRows, `error.code` = SQLSTATE string) and MySQL's (`rows` = rows returned,
 * `affected_rows`, `statement_id`, `error.code` numeric with `sqlstate`, path `query`).
 */
function upgradeUnversioned(o: Obj, hint: StatementProtocol | undefined): StatementRecord | null {
  if (!isTime(o.t) || !isDuration(o.duration_ms) || !isString(o.sql) || !isString(o.path)) return null;
  if (!optional(o.params, isParams) || !optional(o.command, isString) || !optional(o.statement, isString) || !optional(o.portal, isString)) return null;
  const err = o.error;
  if (err !== undefined && !(isObj(err) && isString(err.message) && (isString(err.code) || typeof err.code === 'number'))) return null;
  const mysqlShape = LEGACY_MYSQL_PATHS.has(o.path) || 'affected_rows' in o || 'statement_id' in o || (isObj(err) && typeof err.code === 'number');
  const protocol = hint ?? (mysqlShape ? 'mysql' : LEGACY_PG_PATHS.has(o.path) ? 'postgres' : null);
  const start = Date.parse(o.t);
  const base = { start, end: start + o.duration_ms, sql: o.sql, params: o.params };
  if (protocol === 'postgres') {
    if (!LEGACY_PG_PATHS.has(o.path) || !optional(o.rows_returned, isCount) || !optional(o.copy, isCopy)) return null;
    const counts = pgRowCounts(o.command, o.rows_returned ?? 0, o.copy?.direction);
    const error: StatementError | null = isObj(err) ? { sqlstate: String(err.code), code: null, message: err.message as string } : null;
    return statementRecord({
      ...base, protocol, path: o.path as StatementPath, statement: o.statement, portal: o.portal, command: o.command,
      rowsReturned: counts.returned, rowsAffected: counts.affected, suspended: o.suspended === true, error, copy: o.copy,
    });
  }
  if (protocol === 'mysql') {
    const path = LEGACY_MYSQL_PATHS.get(o.path);
    if (!path || !optional(o.rows, isCount) || !optional(o.affected_rows, isCount) || !optional(o.statement_id, isCount)) return null;
    const error: StatementError | null = isObj(err)
      ? { sqlstate: isString(err.sqlstate) ? err.sqlstate : '', code: typeof err.code === 'number' ? err.code : null, message: err.message as string } : null;
    return statementRecord({
      ...base, protocol, path, statement: o.statement_id === undefined ? undefined : String(o.statement_id),
      rowsReturned: o.rows ?? null, rowsAffected: o.affected_rows ?? null, error,
    });
  }
  return null;
}

/** Streams a statements.ndjson file. A missing file throws (ENOENT) when iteration starts. */
export function openStatements(path: string, hint?: StatementProtocol): { records: AsyncGenerator<StatementRecord>; summary: StatementFileSummary } {
  const summary: StatementFileSummary = { skipped: 0, newer: 0, truncated: false };
  async function* records(): AsyncGenerator<StatementRecord> {
    // One line of look-ahead: only the last line may be torn; a bad line before it is corrupt.
    let held: StatementLine | null = null;
    for await (const { line } of castLines(path)) {
      if (line.length === 0) continue;
      if (held) yield* take(held, false);
      held = parseStatementLine(line, hint);
    }
    if (held) yield* take(held, true);
  }
  function* take(l: StatementLine, last: boolean): Generator<StatementRecord> {
    if (l.ok) yield l.record;
    else if (l.problem === 'newer-version') summary.newer++;
    else if (last) summary.truncated = true;
    else summary.skipped++;
  }
  return { records: records(), summary };
}

/**
 * Records `from` (0-based, counting records, not lines) up to `limit` of them: for APIs that
 * answer in bounded replies. `next` is where the following page starts, null at the end.
 */
export async function readStatements(path: string, hint?: StatementProtocol, page: { from?: number; limit?: number } = {}): Promise<StatementPage> {
  const from = page.from ?? 0;
  const limit = page.limit ?? Number.POSITIVE_INFINITY;
  const { records, summary } = openStatements(path, hint);
  const out: StatementRecord[] = [];
  let n = 0;
  let next: number | null = null;
  for await (const r of records) {
    if (n >= from + limit) { next = n; break; }
    if (n++ >= from) out.push(r);
  }
  return { version: STATEMENT_RECORD_VERSION, statements: out, next, ...summary };
}
