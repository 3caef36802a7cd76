// The 20 SQL rules the benchmarks run with: a realistic mix of every class, function: rules and
// --match rules, deny and flag (what `rule add --kind sql` takes after the name).
export const SQL_RULES: string[][] = [
  ...['ddl', 'drop', 'truncate', 'unbounded-write', 'grant', 'copy-program', 'alter-system'].map((c) => ['--class', c, '--action', 'deny']),
  ...['pg_terminate_backend', 'pg_cancel_backend', 'pg_read_file', 'pg_ls_dir', 'lo_import', 'lo_export', 'lo_unlink', 'dblink_exec', 'pg_reload_conf']
    .map((f) => ['--class', `function:${f}`, '--action', 'deny']),
  ['--class', 'function:set_config', '--action', 'flag'],
  ['--match', '\\bsalary\\b', '--action', 'flag'],
  ['--match', 'pg_shadow|pg_authid', '--action', 'deny'],
  ['--match', 'credit_card', '--action', 'flag'],
  ['--match', '^\\s*vacuum\\s+full', '--action', 'deny'],
];

/** The same mix for MySQL: every class, MySQL's own dangerous functions, --match rules. */
export const MY_SQL_RULES: string[][] = [
  ...['ddl', 'drop', 'truncate', 'unbounded-write', 'grant', 'copy-program', 'alter-system'].map((c) => ['--class', c, '--action', 'deny']),
  ...['load_file', 'sys_exec', 'sys_eval', 'benchmark', 'get_lock', 'master_pos_wait', 'des_decrypt', 'aes_decrypt']
    .map((f) => ['--class', `function:${f}`, '--action', 'deny']),
  ['--class', 'function:sleep', '--action', 'flag'],
  ['--match', '\\bsalary\\b', '--action', 'flag'],
  ['--match', 'mysql\\.user|mysql\\.global_priv', '--action', 'deny'],
  ['--match', 'credit_card', '--action', 'flag'],
  ['--match', '^\\s*optimize\\s+table', '--action', 'deny'],
];
