// The cheap first look, built once per matcher from its rules: a case-insensitive regex of the words
// without which no rule of the set can match, so that most statements (SELECTs of an application)
// are never parsed. It must be conservative: a word a substring test cannot see must send the text
// to the parser. PostgreSQL can spell an identifier or string with escapes (U&"\0064rop",
// E'\x44ROP' inside a DO block or EXECUTE): a backslash or U& always parses, and so does anything
// that runs code kept in strings (DO, EXECUTE, function bodies, query_to_xml, dblink). MySQL cannot
// escape a keyword, its executable comments are plain text, and its dynamic SQL needs PREPARE or
// EXECUTE. --match rules are not in it: they need the normalized text, not a parse (sql-matcher.ts).
import type { RuleRecord } from '../../store/records.js';
import { functionOfClass } from '../rule-spec.js';

type Protocol = 'postgres' | 'mysql';

const WORDS: Record<Protocol, Record<string, readonly string[]>> = {
  postgres: {
    // SELECT ... INTO creates a table; SECURITY LABEL, IMPORT FOREIGN SCHEMA, REASSIGN OWNED change the schema.
    ddl: ['create', 'alter', 'drop', 'rename', 'comment', 'truncate', 'reindex', 'into', 'security', 'import', 'reassign'],
    drop: ['drop'],
    truncate: ['truncate'],
    'unbounded-write': ['update', 'delete'],
    grant: ['grant', 'revoke', 'role', 'user', 'group', 'password', 'privileges'],
    'copy-program': ['copy'],
    'alter-system': ['system'],
  },
  mysql: {
    ddl: ['create', 'alter', 'drop', 'rename', 'truncate'],
    drop: ['drop'],
    truncate: ['truncate'],
    'unbounded-write': ['update', 'delete'],
    grant: ['grant', 'revoke', 'role', 'user', 'password', 'identified'],
    'copy-program': ['load', 'outfile', 'dumpfile'],
    'alter-system': ['global', 'persist'],
  },
};

/** Always parsed: text that can hide a word from a substring test, or run code kept in a string. */
const ALWAYS: Record<Protocol, readonly string[]> = {
  postgres: ['u&', '\\\\', 'execute', '\\bdo\\b', 'function', 'procedure', 'query_to_xml', 'dblink'],
  mysql: ['prepare', 'execute', 'execute_prepared_stmt'],
};

/** The prefilter for these rules' classes (a regex that never matches when none has a class). */
export function prefilterFor(rules: readonly RuleRecord[], protocol: Protocol): RegExp {
  const words = new Set<string>();
  for (const r of rules) {
    if (r.class === null) continue;
    const fn = functionOfClass(r.class);
    if (fn !== null) { words.add(escape(fn)); continue; }
    for (const w of WORDS[protocol][r.class] ?? []) words.add(w);
  }
  if (words.size === 0) return /(?!)/;
  for (const w of ALWAYS[protocol]) words.add(w);
  return new RegExp([...words].join('|'), 'i');
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
