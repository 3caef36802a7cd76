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
