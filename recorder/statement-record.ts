// The one statement record schema of database recordings (statements.ndjson), for PostgreSQL and
// MySQL alike: the type, its version, the constructor the protocol statement logs call, and the
// serializer. Reading, validating and upgrading older files is statement-reader.ts. This module
// knows no wire format: the protocol folders translate their messages into these facts. The one
// exception is PostgreSQL's CommandComplete tag, whose meaning (rows returned or affected) the
// writer and the upgrade of old records must agree on, so it lives here once. README.md documents
// every field per protocol.

/** Bumped when a field is renamed, removed, retyped or changes meaning (see README.md, versioning). */
export const STATEMENT_RECORD_VERSION = 1;

export type StatementProtocol = 'postgres' | 'mysql';

/**
 * How the statement reached the server. PostgreSQL: `simple` (Query), `extended` (Parse/Bind/
 * Execute, with statement and portal names), `function-call` (FunctionCall). MySQL: `simple`
 * (COM_QUERY), `prepared` (COM_STMT_PREPARE/EXECUTE, statement = its id), `init-db` (COM_INIT_DB).
 */
export type StatementPath = 'simple' | 'extended' | 'prepared' | 'function-call' | 'init-db';
export const STATEMENT_PATHS: readonly StatementPath[] = ['simple', 'extended', 'prepared', 'function-call', 'init-db'];

export interface StatementError {
  /** The five-character SQLSTATE; '' when the server sent none (a MySQL error without one). */
  sqlstate: string;
  /** MySQL's numeric error code; null for PostgreSQL, whose only code is the SQLSTATE. */
  code: number | null;
  message: string;
}

export interface CopyTransfer {
  /** `in`: client to server (COPY FROM STDIN); `out`: server to client (COPY TO STDOUT). */
  direction: 'in' | 'out';
  /** CopyData payload bytes relayed. */
  bytes: number;
}

export interface StatementRecord {
  v: typeof STATEMENT_RECORD_VERSION;
  protocol: StatementProtocol;
  /** When the client sent the statement (ISO 8601, UTC, milliseconds). */
  t: string;
  /** From sending to the server's answer completing this record. */
  duration_ms: number;
  /**
   * The statement text. Over 64 KiB only its start and end are here, around a note saying where the
   * whole text is: `sql_file` then names the side file that holds all of it (`sql_bytes` long).
   */
  sql: string;
  /** Side file in the recording directory (`stmt-N.sql`) holding the whole statement text. */
  sql_file?: string;
  /** The whole statement's length in bytes when `sql` is not all of it (side file, or a refusal). */
  sql_bytes?: number;
  path: StatementPath;
  /** Prepared statement: PostgreSQL name ('' = unnamed), or MySQL statement id in decimal. */
  statement?: string;
  /** PostgreSQL portal name ('' = unnamed); absent when no portal existed (a failed Parse). */
  portal?: string;
  /**
   * Bound parameters as text (binary ones as `\x` hex); null is SQL NULL. When they are over 64 KiB
   * in all, long ones are cut to their start and end here and `params_file` holds them all whole.
   */
  params?: Array<string | null>;
  /** Side file in the recording directory (`stmt-N.params.json`, a JSON array) holding every parameter whole. */
  params_file?: string;
  /** The parameters' whole size in bytes (as JSON) when `params` is not all of them. */
  params_bytes?: number;
  /** PostgreSQL FunctionCall: the function's OID. */
  function_oid?: number;
  /** PostgreSQL FunctionCall: the function's name when the gateway knows the OID (built-in functions). */
  function_name?: string;
  /** PostgreSQL FunctionCall: bytes of the function's result; null for an SQL NULL result. */
  result_bytes?: number | null;
  /** PostgreSQL CommandComplete tag, e.g. `UPDATE 3`. */
  command?: string;
  /** Rows the server sent back (result set rows, RETURNING rows, COPY TO rows); null if none. */
  rows_returned: number | null;
  /** Rows the statement inserted, updated, deleted or copied in; null if it reports none. */
  rows_affected: number | null;
  /** PostgreSQL: the Execute stopped at its row limit (PortalSuspended); more may follow. */
  suspended?: true;
  error: StatementError | null;
  copy?: CopyTransfer;
}

/** What a read of a statements file left out (statement-reader.ts); filled in as records are read. */
export interface StatementFileSummary {
  /** Lines that were not records (corrupt), other than a torn last line. */
  skipped: number;
  /** Records of a newer schema than this reader knows. */
  newer: number;
  /** The last line was cut short (the gateway stopped mid-write). */
  truncated: boolean;
}

/**
 * A page of a session's statements as the API serves it. Declared here, with no Node import, so
 * the browser bundle can import the type too.
 */
export interface StatementPage extends StatementFileSummary {
  /** The schema version every record in `statements` has (older ones were upgraded). */
  version: typeof STATEMENT_RECORD_VERSION;
  statements: StatementRecord[];
  /** The index of the first record of the next page, or null when this page ends the file. */
  next: number | null;
}

/** What a protocol statement log knows about one statement; times are the Clock's milliseconds. */
export interface StatementFacts {
  protocol: StatementProtocol;
  start: number;
  end: number;
  sql: string;
  path: StatementPath;
  statement?: string | undefined;
  portal?: string | undefined;
  params?: Array<string | null> | undefined;
  functionOid?: number | undefined;
  functionName?: string | undefined;
  resultBytes?: number | null | undefined;
  sqlFile?: string | undefined;
  sqlBytes?: number | undefined;
  paramsFile?: string | undefined;
  paramsBytes?: number | undefined;
  command?: string | undefined;
  rowsReturned?: number | null | undefined;
  rowsAffected?: number | null | undefined;
  suspended?: boolean | undefined;
  error?: StatementError | null | undefined;
  copy?: CopyTransfer | null | undefined;
}

/** Builds a record with every key in a fixed order (stable files, stable tests). */
export function statementRecord(f: StatementFacts): StatementRecord {
  const r: StatementRecord = {
    v: STATEMENT_RECORD_VERSION, protocol: f.protocol, t: isoTime(f.start),
    duration_ms: Math.max(0, f.end - f.start), sql: f.sql, path: f.path,
    rows_returned: null, rows_affected: null, error: null,
  };
  if (f.sqlFile !== undefined) r.sql_file = f.sqlFile;
  if (f.sqlBytes !== undefined) r.sql_bytes = f.sqlBytes;
  if (f.statement !== undefined) r.statement = f.statement;
  if (f.portal !== undefined) r.portal = f.portal;
  if (f.params !== undefined) r.params = f.params;
  if (f.paramsFile !== undefined) r.params_file = f.paramsFile;
  if (f.paramsBytes !== undefined) r.params_bytes = f.paramsBytes;
  if (f.functionOid !== undefined) r.function_oid = f.functionOid;
  if (f.functionName !== undefined) r.function_name = f.functionName;
  if (f.resultBytes !== undefined) r.result_bytes = f.resultBytes;
  if (f.command !== undefined) r.command = f.command;
  r.rows_returned = f.rowsReturned ?? null;
  r.rows_affected = f.rowsAffected ?? null;
  if (f.suspended) r.suspended = true;
  r.error = f.error ? { sqlstate: f.error.sqlstate, code: f.error.code, message: f.error.message } : null;
  if (f.copy) r.copy = { direction: f.copy.direction, bytes: f.copy.bytes };
  return r;
}

/** The last millisecond of a four-digit year (9999-12-31T23:59:59.999Z): toISOString's plain form up to here. */
const LAST_PLAIN_ISO_MS = 253_402_300_799_999;
/** The second `isoPrefix` is of, and its text up to the milliseconds (`YYYY-MM-DDTHH:MM:SS.`). */
let isoSecond = -1;
let isoPrefix = '';

/**
 * `new Date(ms).toISOString()`, the same text, with the part up to the second kept from the call
 * before: records come many per second (written live, and read back for the search index), and
 * toISOString was a fair share of building each. Anything but a whole millisecond from 1970 to the
 * year 9999 goes to toISOString itself (other forms, and its RangeError for an invalid time).
 */
export function isoTime(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms > LAST_PLAIN_ISO_MS) return new Date(ms).toISOString();
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
    isoSecond = second;
  }
  const milli = ms - second * 1000;
  return `${isoPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

/** One NDJSON line of statements.ndjson, newline included. */
export function serializeStatement(r: StatementRecord): string {
  return JSON.stringify(r) + '\n';
}

/**
 * PostgreSQL's answer as rows returned and rows affected: the DataRows counted, and the number at
 * the end of the CommandComplete tag read by its verb. `SELECT n` without DataRows is CREATE TABLE
 * AS / SELECT INTO (rows written, not sent); COPY counts as returned when its rows went to the
 * client and as affected otherwise (COPY FROM, or a server-side file).
 */
export function pgRowCounts(command: string | undefined, dataRows: number, copy: CopyTransfer['direction'] | undefined): { returned: number | null; affected: number | null } {
  const sent = dataRows > 0 ? dataRows : null;
  const count = command === undefined ? null : /\s(\d+)$/.exec(command);
  if (!command || !count) return { returned: sent, affected: null };
  const n = Number(count[1]);
  const verb = command.slice(0, command.indexOf(' '));
  switch (verb) {
    case 'INSERT': case 'UPDATE': case 'DELETE': case 'MERGE':
      return { returned: sent, affected: n };
    case 'COPY':
      return copy === 'out' ? { returned: n, affected: null } : { returned: null, affected: n };
    case 'SELECT':
      return dataRows === 0 && n > 0 ? { returned: null, affected: n } : { returned: dataRows, affected: null };
    case 'FETCH':
      return { returned: dataRows, affected: null };
    default:
      return { returned: sent, affected: null };
  }
}
