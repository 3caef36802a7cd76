// Names of well-known built-in PostgreSQL functions by OID, for FunctionCall records. A
// FunctionCall names its function only by OID. Built-in functions have fixed OIDs (assigned in
// PostgreSQL's own catalog source, pg_proc.dat, identical on every server of a major version and
// kept across versions), so a table is exact for them and costs the client nothing. The table
// lists the functions that act (large objects, configuration, other backends, files, XML queries
// that run SQL text) rather than all ~3,000; taken from PostgreSQL 15's pg_proc.
// Not resolved here: functions users create (OID 16384 and up, FirstNormalObjectId). Their OIDs
// differ per database and can be reused after a DROP, so only the target can name them, and only
// at the time of the call: asking it would need a second login with the session's credential
// (wiped after login, by design) or a query injected into the user's own connection (which would
// change its transaction state). The record keeps the OID; the CREATE FUNCTION that made it is in
// the statement log, and `SELECT N::regprocedure` on the target names it while it exists.

const NAMES = new Map<number, string>([
  // Large objects: read and write files and data outside any table (psql \lo_*, libpq lo_*).
  [715, 'lo_create(oid)'], [764, 'lo_import(text)'], [765, 'lo_export(oid, text)'], [767, 'lo_import(text, oid)'],
  [952, 'lo_open(oid, integer)'], [953, 'lo_close(integer)'], [954, 'loread(integer, integer)'], [955, 'lowrite(integer, bytea)'],
  [956, 'lo_lseek(integer, integer, integer)'], [957, 'lo_creat(integer)'], [958, 'lo_tell(integer)'], [964, 'lo_unlink(oid)'],
  [1004, 'lo_truncate(integer, integer)'], [3170, 'lo_lseek64(integer, bigint, integer)'], [3171, 'lo_tell64(integer)'],
  [3172, 'lo_truncate64(integer, bigint)'], [3457, 'lo_from_bytea(oid, bytea)'], [3458, 'lo_get(oid)'],
  [3459, 'lo_get(oid, bigint, integer)'], [3460, 'lo_put(oid, bigint, bytea)'],
  // Settings and other backends.
  [2077, 'current_setting(text)'], [3294, 'current_setting(text, boolean)'], [2078, 'set_config(text, text, boolean)'],
  [2096, 'pg_terminate_backend(integer, bigint)'], [2171, 'pg_cancel_backend(integer)'], [2026, 'pg_backend_pid()'],
  [2621, 'pg_reload_conf()'], [2622, 'pg_rotate_logfile()'], [4543, 'pg_log_backend_memory_contexts(integer)'],
  [2274, 'pg_stat_reset()'], [2626, 'pg_sleep(double precision)'], [3036, 'pg_notify(text, text)'],
  [2880, 'pg_advisory_lock(bigint)'], [2886, 'pg_advisory_lock(integer, integer)'],
  // Server files and directories.
  [2624, 'pg_read_file(text, bigint, bigint)'], [3293, 'pg_read_file(text, bigint, bigint, boolean)'], [3826, 'pg_read_file(text)'],
  [3295, 'pg_read_binary_file(text, bigint, bigint, boolean)'], [3827, 'pg_read_binary_file(text, bigint, bigint)'],
  [3828, 'pg_read_binary_file(text)'], [2625, 'pg_ls_dir(text)'], [3297, 'pg_ls_dir(text, boolean, boolean)'],
  [2623, 'pg_stat_file(text)'], [3307, 'pg_stat_file(text, boolean)'], [3353, 'pg_ls_logdir()'], [3354, 'pg_ls_waldir()'],
  // Functions that run SQL given as text, or dump whole tables.
  [2924, 'query_to_xml(text, boolean, boolean, text)'], [2927, 'query_to_xmlschema(text, boolean, boolean, text)'],
  [2930, 'query_to_xml_and_xmlschema(text, boolean, boolean, text)'], [2925, 'cursor_to_xml(refcursor, integer, boolean, boolean, text)'],
  [2923, 'table_to_xml(regclass, boolean, boolean, text)'], [2933, 'schema_to_xml(name, boolean, boolean, text)'],
  [2936, 'database_to_xml(boolean, boolean, text)'],
  // WAL, backups, replication.
  [2848, 'pg_switch_wal()'], [3098, 'pg_create_restore_point(text)'], [3436, 'pg_promote(boolean, integer)'],
  [2172, 'pg_backup_start(text, boolean)'], [2739, 'pg_backup_stop(boolean)'], [3577, 'pg_logical_emit_message(boolean, text, text)'],
  [3578, 'pg_logical_emit_message(boolean, text, bytea)'], [3779, 'pg_create_physical_replication_slot(name, boolean, boolean)'],
  [3786, 'pg_create_logical_replication_slot(name, name, boolean, boolean)'], [3780, 'pg_drop_replication_slot(name)'],
  [6003, 'pg_replication_origin_create(text)'],
  // Sequences, transactions, version.
  [1574, 'nextval(regclass)'], [1576, 'setval(regclass, bigint)'], [1765, 'setval(regclass, bigint, boolean)'],
  [2943, 'txid_current()'], [5059, 'pg_current_xact_id()'], [89, 'version()'],
]);

/** PostgreSQL's FirstNormalObjectId: OIDs from here on are objects users created. */
export const FIRST_USER_OID = 16384;

/** The function's name and argument types (e.g. `lo_open(oid, integer)`), or undefined when not in the table. */
export function builtinFunctionName(oid: number): string | undefined {
  return NAMES.get(oid);
}

/**
 * What the record's `sql` says a FunctionCall ran: the call as SQL with its name when known (or
 * the OID and where it comes from) and its arguments whole as literals, so an argument that is
 * itself SQL (query_to_xml, a user's function that EXECUTEs its text) is kept like any statement
 * text: whole, in a side file when long. `args` are literals (argumentLiteral).
 */
export function functionCallText(oid: number, args: string[]): string {
  const name = NAMES.get(oid);
  const list = args.join(', ');
  if (name) return `/* FunctionCall, oid ${oid} */ SELECT pg_catalog.${name.slice(0, name.indexOf('('))}(${list})`;
  const what = oid >= FIRST_USER_OID ? 'a function created on the target: SELECT ' + oid + '::regprocedure names it' : 'a built-in function not in the gateway\'s table';
  return `/* FunctionCall, oid ${oid} (${what}) */ SELECT <oid ${oid}>(${list})`;
}

/** One FunctionCall argument as an SQL literal: text quoted, binary as bytea hex, NULL. */
export function argumentLiteral(value: Buffer | null, binary: boolean): string {
  if (value === null) return 'NULL';
  if (binary) return `'\\x${value.toString('hex')}'::bytea`;
  return `'${value.toString('utf8').replaceAll("'", "''")}'`;
}
