// MySQL/MariaDB statement facts for one query text. Every reading of the bytes that can move token
// boundaries (sql_mode and double-byte character sets: ../../mysql/sql/dialects.ts) is classified
// from tokens (my-classify.ts) and the facts of all readings are kept, so text the server reads as
// code is never only a string to us. Each statement is also given to node-sql-parser (MariaDB
// grammar), which sees what tokens cannot (`WHERE 1=1` bounds nothing, calls inside expressions);
// it fails on valid statements (SET NAMES), so its facts are added to the lexer's, never needed.
// Literal dynamic SQL is read recursively (bounded).
import { createRequire } from 'node:module';
import { DIALECTS, dialectsFor } from '../../mysql/sql/dialects.js';
import type { SqlClass } from '../rule-spec.js';
import { type QueryAnalysis, type StatementFacts, newFacts } from './facts.js';
import { classifyMy } from './my-classify.js';
import { myStatements } from './my-tokens.js';

interface SqlParser { astify(sql: string, opt: { database: string }): unknown }
// node-sql-parser is CommonJS: Node's ESM loader cannot take its named export (DESIGN 10).
const require = createRequire(import.meta.url);
const parser: SqlParser = new (require('node-sql-parser') as { Parser: new () => SqlParser }).Parser();

const MAX_DEPTH = 4;
/**
 * node-sql-parser is slow on long text (measured: 1 KiB 12 ms, 4 KiB 30 ms, 16 KiB 70 ms; a short
 * UPDATE 0.4 ms): longer statements keep the lexer's facts, which are complete without it.
 */
const PARSER_MAX = 4096;

export function analyzeMy(text: string): QueryAnalysis {
  const out: QueryAnalysis = { statements: [], unparsable: null };
  read(Buffer.from(text, 'utf8'), out, 0);
  return out;
}

/** The statements' normalized texts in the default reading, joined by `; ` (for --match rules alone). */
export function normalizeMy(text: string): string {
  return myStatements(Buffer.from(text, 'utf8'), DIALECTS[0]!).map((s) => s.normalized).join('; ');
}

function read(bytes: Buffer, out: QueryAnalysis, depth: number): void {
  if (depth > MAX_DEPTH) { out.unparsable ??= 'dynamic SQL nested too deep'; return; }
  for (const dialect of dialectsFor(bytes)) {
    let compound = false;
    for (const st of myStatements(bytes, dialect)) {
      const c = classifyMy(st.tokens, compound);
      compound ||= c.opensCompound;
      const f = newFacts(st.normalized);
      for (const k of c.classes) f.classes.add(k);
      for (const fn of c.functions) f.functions.add(fn);
      if (c.unparsable) out.unparsable ??= c.unparsable;
      if (depth === 0) {
        for (const p of c.prepares) (out.prepares ??= []).push(p);
        for (const e of c.executes) if (!(out.executes ??= []).includes(e)) out.executes.push(e);
      }
      else if (!compound && st.normalized.length <= PARSER_MAX) fromParser(st.normalized, f);
      out.statements.push(f);
      for (const n of c.nested) read(Buffer.from(n, 'utf8'), out, depth + 1);
    }
  }
}

const WRITES: Partial<Record<string, SqlClass[]>> = {
  drop: ['ddl', 'drop'], truncate: ['ddl', 'truncate'], create: ['ddl'], alter: ['ddl'], rename: ['ddl'],
  grant: ['grant'], revoke: ['grant'], load_data: ['copy-program'],
};

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null;

/** Adds what the parser sees; a statement it cannot parse keeps the lexer's facts. */
function fromParser(sql: string, f: StatementFacts): void {
  let ast: unknown;
  try {
    ast = parser.astify(sql, { database: 'MariaDB' });
  } catch {
    return;
  }
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) { for (const x of v) visit(x); return; }
    if (!isObj(v)) return;
    const type = typeof v.type === 'string' ? v.type : '';
    for (const c of WRITES[type] ?? []) f.classes.add(c);
    if ((type === 'update' || type === 'delete') && 'where' in v && !hasColumn(v.where)) f.classes.add('unbounded-write');
    if (type === 'function' && isObj(v.name) && Array.isArray(v.name.name)) {
      const last: unknown = v.name.name[v.name.name.length - 1];
      if (isObj(last) && typeof last.value === 'string') f.functions.add(last.value.toLowerCase());
    }
    if (type === 'aggr_func' && typeof v.name === 'string') f.functions.add(v.name.toLowerCase());
    if (isObj(v.into) && (v.into.keyword === 'outfile' || v.into.keyword === 'dumpfile')) f.classes.add('copy-program');
    for (const k of Object.keys(v)) visit(v[k]);
  };
  visit(ast);
}

/** Whether a WHERE refers to a column of the statement (a subquery's own columns do not count). */
function hasColumn(where: unknown): boolean {
  if (Array.isArray(where)) return where.some(hasColumn);
  if (!isObj(where)) return false;
  if (where.type === 'column_ref') return true;
  return Object.keys(where).some((k) => k !== 'ast' && hasColumn(where[k]));
}
