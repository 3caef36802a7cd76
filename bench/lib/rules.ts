// The 20 SQL rules the benchmarks run with: a realistic mix of every class, function: rules and
// --match rules, deny and flag (what `rule add --kind sql` takes after the name).
/** Every class denied, the dialect's dangerous functions denied and one flagged, and --match rules. */
function ruleMix(o: { deny: string[]; flag: string; catalog: string; heavy: string }): string[][] {
  return [
    ...['ddl', 'drop', 'truncate', 'unbounded-write', 'grant', 'copy-program', 'alter-system'].map((c) => ['--class', c, '--action', 'deny']),
    ...o.deny.map((f) => ['--class', `function:${f}`, '--action', 'deny']),
    ['--class', `function:${o.flag}`, '--action', 'flag'],
    ['--match', '\\bsalary\\b', '--action', 'flag'],
    ['--match', o.catalog, '--action', 'deny'],
    ['--match', 'credit_card', '--action', 'flag'],
    ['--match', o.heavy, '--action', 'deny'],
  ];
}

export const SQL_RULES: string[][] = ruleMix({
  deny: ['pg_terminate_backend', 'pg_cancel_backend', 'pg_read_file', 'pg_ls_dir', 'lo_import', 'lo_export', 'lo_unlink', 'dblink_exec', 'pg_reload_conf'],
  flag: 'set_config', catalog: 'pg_shadow|pg_authid', heavy: '^\\s*vacuum\\s+full',
});

/** The same mix for MySQL: MySQL's own dangerous functions and catalog. */
export const MY_SQL_RULES: string[][] = ruleMix({
  deny: ['load_file', 'sys_exec', 'sys_eval', 'benchmark', 'get_lock', 'master_pos_wait', 'des_decrypt', 'aes_decrypt'],
  flag: 'sleep', catalog: 'mysql\\.user|mysql\\.global_priv', heavy: '^\\s*optimize\\s+table',
});
