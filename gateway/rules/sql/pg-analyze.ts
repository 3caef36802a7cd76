// PostgreSQL statement facts from PostgreSQL's own parser (libpg-query, WASM): the whole tree is
// walked generically, so a statement nested anywhere counts (a DELETE in a CTE, EXPLAIN ANALYZE,
// PREPARE, CREATE RULE actions, SQL-standard function bodies), and so does a function called
// anywhere. Code kept in strings is read too: LANGUAGE sql bodies are parsed as SQL, plpgsql bodies
// and DO blocks with libpg-query's plpgsql parser (each embedded statement and expression parsed),
// LANGUAGE internal names the built-in it wraps, and the SQL text given to query_to_xml or dblink.
// What cannot be seen makes the query `unparsable`: dynamic SQL (EXECUTE of a computed string),
// bodies in other languages (C, plpython, ...), and SQL text functions fed a non-constant.
// Pure: no sockets, no clock. The parser must be loaded first (loadPgParser).
import { loadModule, parsePlPgSQLSync, parseSync } from 'libpg-query';
import { type QueryAnalysis, type StatementFacts, newFacts } from './facts.js';
import { PG_CLASSES_OF_NODE } from './pg-classes.js';
import { normalizePg } from './pg-normalize.js';

let loaded: Promise<void> | null = null;
let ready = false;

export function loadPgParser(): Promise<void> {
  loaded ??= loadModule().then(() => { ready = true; });
  return loaded;
}

/** Functions that run SQL given to them as text (their constant arguments are parsed as SQL). */
const SQL_TEXT_FUNCTIONS = new Set(['query_to_xml', 'query_to_xmlschema', 'query_to_xml_and_xmlschema', 'dblink', 'dblink_exec', 'dblink_send_query', 'dblink_open']);
/** DefElem names in CREATE OPERATOR / AGGREGATE / TYPE that name a function the object will call. */
const DEFINE_FUNCTION_ELEMS = new Set(['function', 'procedure', 'sfunc', 'finalfunc', 'combinefunc', 'serialfunc', 'deserialfunc', 'msfunc',
  'minvfunc', 'mfinalfunc', 'restrict', 'join', 'input', 'output', 'receive', 'send', 'typmod_in', 'typmod_out', 'analyze', 'subscript']);
/** PLpgSQL statements that run a computed string: readable only when it is a constant. */
const PLPGSQL_DYNAMIC: ReadonlyMap<string, string> = new Map([
  ['PLpgSQL_stmt_dynexecute', 'query'], ['PLpgSQL_stmt_dynfors', 'query'], ['PLpgSQL_stmt_open', 'dynquery'], ['PLpgSQL_stmt_return_query', 'dynquery'],
]);
/** Bodies inside bodies inside ...: deeper is unparsable (bounded work). */
const MAX_DEPTH = 6;

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null;

export function analyzePg(text: string): QueryAnalysis {
  if (!ready) return { statements: [], unparsable: 'the PostgreSQL parser is not loaded' };
  const a = new PgAnalysis();
  a.text(text, null, 0);
  const out: QueryAnalysis = { statements: a.statements, unparsable: a.unparsable };
  if (a.prepares.length > 0) out.prepares = a.prepares;
  if (a.executes.length > 0) out.executes = a.executes;
  return out;
}

class PgAnalysis {
  statements: StatementFacts[] = [];
  unparsable: string | null = null;
  prepares: Array<{ name: string; text: string }> = [];
  executes: string[] = [];

  private fail(why: string): void {
    this.unparsable ??= why;
  }

  /** Parses SQL text; each statement gets its own facts, or (nested) adds to `into`. False when it does not parse. */
  text(sql: string, into: StatementFacts | null, depth: number, quiet = false): boolean {
    if (depth > MAX_DEPTH) { this.fail('code nested too deep'); return false; }
    if (normalizePg(sql) === '') return true; // empty or only comments: nothing runs
    let tree: Json;
    try {
      tree = parseSync(sql) as unknown as Json;
    } catch (e) {
      if (!quiet) this.fail(`does not parse: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
    const stmts = Array.isArray(tree.stmts) ? tree.stmts as unknown[] : [];
    const bytes = Buffer.from(sql, 'utf8');
    for (const s of stmts) {
      if (!isObj(s)) continue;
      const loc = typeof s.stmt_location === 'number' ? s.stmt_location : 0;
      const len = typeof s.stmt_len === 'number' && s.stmt_len > 0 ? s.stmt_len : bytes.length - loc;
      const own = bytes.toString('utf8', loc, loc + len);
      let facts = into;
      if (facts === null) {
        facts = newFacts(normalizePg(own));
        this.statements.push(facts);
      }
      this.walk(s.stmt, facts, own, depth);
    }
    return true;
  }

  private walk(v: unknown, f: StatementFacts, stmtText: string, depth: number): void {
    if (Array.isArray(v)) { for (const x of v) this.walk(x, f, stmtText, depth); return; }
    if (!isObj(v)) return;
    // Calls and function references are not always wrapped in a node (CallStmt.funccall,
    // CreateCastStmt.func, AlterFunctionStmt.func): any function name counts.
    if (Array.isArray(v.funcname)) addName(f, lastName(v.funcname));
    if (Array.isArray(v.objname)) addName(f, lastName(v.objname));
    for (const key of Object.keys(v)) {
      const child = v[key];
      if (isObj(child) && key.charCodeAt(0) >= 65 && key.charCodeAt(0) <= 90) this.node(key, child, f, stmtText, depth);
      this.walk(child, f, stmtText, depth);
    }
  }

  /** One node: its classes and calls; code kept in strings is read here. */
  private node(kind: string, n: Json, f: StatementFacts, stmtText: string, depth: number): void {
    const classes = PG_CLASSES_OF_NODE.get(kind);
    if (classes) for (const c of classes) f.classes.add(c);
    switch (kind) {
      case 'UpdateStmt':
      case 'DeleteStmt':
        if (!bounded(n.whereClause)) f.classes.add('unbounded-write');
        break;
      case 'CopyStmt':
        // PROGRAM runs a shell command; a file name is a server file (STDIN/STDOUT have none).
        if (n.is_program === true || typeof n.filename === 'string') f.classes.add('copy-program');
        break;
      case 'AlterTableCmd':
        if (n.subtype === 'AT_DropColumn') f.classes.add('drop');
        break;
      case 'RenameStmt':
        if (n.renameType === 'OBJECT_ROLE') f.classes.add('grant');
        break;
      case 'SelectStmt':
        // SELECT ... INTO creates a table (CREATE TABLE AS).
        if (isObj(n.intoClause)) f.classes.add('ddl');
        break;
      case 'FuncCall': {
        const name = lastName(n.funcname);
        if (name) {
          f.functions.add(name);
          if (SQL_TEXT_FUNCTIONS.has(name)) this.sqlTextArgs(n.args, f, depth);
        }
        break;
      }
      // Attribute notation `x.f` calls f(x) when f takes x's row type.
      case 'ColumnRef': addName(f, lastName(n.fields)); break;
      case 'DefineStmt':
        for (const d of defElems(n.definition)) if (DEFINE_FUNCTION_ELEMS.has(d.defname)) addName(f, typeName(d.arg));
        break;
      case 'CreateFunctionStmt': this.functionBody(n, f, stmtText, depth); break;
      case 'DoStmt': this.doBlock(n, f, stmtText, depth); break;
      // Remembered per session by the matcher: a rule added after the PREPARE still stops its EXECUTE.
      case 'PrepareStmt': if (typeof n.name === 'string') this.prepares.push({ name: n.name, text: stmtText }); break;
      case 'ExecuteStmt': if (typeof n.name === 'string') this.executes.push(n.name); break;
    }
  }

  private sqlTextArgs(args: unknown, f: StatementFacts, depth: number): void {
    for (const a of Array.isArray(args) ? args : []) {
      const s = constString(a);
      if (s === null) { if (!constAny(a)) this.fail('SQL text computed at run time (query_to_xml, dblink)'); continue; }
      // A constant that is not SQL (a connection string) is just a string.
      this.text(s, f, depth + 1, true);
    }
  }

  private functionBody(n: Json, f: StatementFacts, stmtText: string, depth: number): void {
    const opts = defElems(n.options);
    const language = (stringOf(opts.find((d) => d.defname === 'language')?.arg) ?? (isObj(n.sql_body) ? 'sql' : 'unknown')).toLowerCase();
    const as = opts.find((d) => d.defname === 'as')?.arg;
    const body = isObj(as) && isObj(as.List) && Array.isArray(as.List.items) ? as.List.items.map(stringOf) : [stringOf(as)];
    if (isObj(n.sql_body)) return; // SQL-standard body: already in the tree, walked generically
    switch (language) {
      case 'sql': if (body[0]) this.text(body[0], f, depth + 1); return;
      case 'plpgsql': this.plpgsql(stmtText, f, depth); return;
      case 'internal': addName(f, body[0]?.trim().toLowerCase()); return;
      default: this.fail(`a LANGUAGE ${language} function body cannot be read`);
    }
  }

  private doBlock(n: Json, f: StatementFacts, stmtText: string, depth: number): void {
    const opts = defElems(n.args);
    const language = (stringOf(opts.find((d) => d.defname === 'language')?.arg) ?? 'plpgsql').toLowerCase();
    if (language !== 'plpgsql') { this.fail(`a DO block in LANGUAGE ${language} cannot be read`); return; }
    this.plpgsql(stmtText, f, depth);
  }

  /** A CREATE FUNCTION ... plpgsql or DO statement: every embedded statement and expression. */
  private plpgsql(stmtText: string, f: StatementFacts, depth: number): void {
    let tree: unknown;
    try {
      tree = parsePlPgSQLSync(stmtText);
    } catch (e) {
      this.fail(`plpgsql body does not parse: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.plWalk(tree, f, depth + 1);
  }

  private plWalk(v: unknown, f: StatementFacts, depth: number): void {
    if (Array.isArray(v)) { for (const x of v) this.plWalk(x, f, depth); return; }
    if (!isObj(v)) return;
    for (const key of Object.keys(v)) {
      const child = v[key];
      if (!isObj(child)) continue;
      if (key === 'PLpgSQL_expr') { this.plExpr(child, f, depth); continue; }
      const dyn = PLPGSQL_DYNAMIC.get(key);
      if (dyn !== undefined) this.plDynamic(child[dyn], f, depth);
      this.plWalk(child, f, depth);
    }
  }

  /** An embedded statement (parse mode 0) or expression (others: read as SELECT expr). */
  private plExpr(e: Json, f: StatementFacts, depth: number): void {
    const q = typeof e.query === 'string' ? e.query : '';
    if (q.trim() === '') return;
    if (e.parseMode === 0 && this.text(q, f, depth, true)) return;
    if (this.text(`SELECT ${q}`, f, depth, true)) return;
    // Assignments (`x := expr`, `x.y[1] := expr`) arrive with their target.
    const at = q.indexOf(':=');
    const rhs = at >= 0 ? q.slice(at + 2) : q.slice(q.indexOf('=') + 1);
    if (!this.text(`SELECT ${rhs}`, f, depth, true)) this.fail(`plpgsql expression does not parse: ${q.slice(0, 80)}`);
  }

  /** EXECUTE of a string: a constant is read as SQL; anything computed cannot be seen. */
  private plDynamic(expr: unknown, f: StatementFacts, depth: number): void {
    const q = isObj(expr) && isObj(expr.PLpgSQL_expr) && typeof expr.PLpgSQL_expr.query === 'string' ? expr.PLpgSQL_expr.query : null;
    if (q === null) return;
    let literal: string | null = null;
    try {
      const t = parseSync(`SELECT ${q}`) as unknown as Json;
      const stmts = t.stmts as Json[] | undefined;
      const stmt = stmts?.length === 1 ? stmts[0]?.stmt : undefined;
      const sel = isObj(stmt) ? stmt.SelectStmt : undefined;
      const list: unknown = isObj(sel) ? sel.targetList : undefined;
      const tl: unknown = Array.isArray(list) && list.length === 1 ? list[0] : undefined;
      const val = isObj(tl) && isObj(tl.ResTarget) ? tl.ResTarget.val : undefined;
      literal = constString(val);
    } catch { /* not even an expression: unparsable below */ }
    if (literal === null || !this.text(literal, f, depth + 1, true)) this.fail('dynamic SQL (EXECUTE of a computed string) cannot be seen');
  }
}

/** A WHERE bounds a write when it refers to a column of the statement (outside subqueries) or is WHERE CURRENT OF. */
function bounded(where: unknown): boolean {
  if (!isObj(where)) return false;
  let found = false;
  const visit = (v: unknown): void => {
    if (found) return;
    if (Array.isArray(v)) { for (const x of v) visit(x); return; }
    if (!isObj(v)) return;
    for (const key of Object.keys(v)) {
      if (key === 'ColumnRef' || key === 'CurrentOfExpr') { found = true; return; }
      if (key === 'subselect') continue; // a subquery's own columns do not bound this write
      visit(v[key]);
    }
  };
  visit(where);
  return found;
}

function lastName(list: unknown): string | undefined {
  if (!Array.isArray(list)) return undefined;
  return stringOf(list[list.length - 1])?.toLowerCase();
}

function addName(f: StatementFacts, name: string | undefined): void {
  if (name) f.functions.add(name.toLowerCase());
}

function stringOf(v: unknown): string | undefined {
  if (isObj(v) && isObj(v.String) && typeof v.String.sval === 'string') return v.String.sval;
  return undefined;
}

function typeName(v: unknown): string | undefined {
  if (isObj(v) && isObj(v.TypeName)) return lastName(v.TypeName.names);
  if (isObj(v) && isObj(v.List)) return lastName(v.List.items);
  return stringOf(v)?.toLowerCase();
}

function defElems(list: unknown): Array<{ defname: string; arg: unknown }> {
  const out: Array<{ defname: string; arg: unknown }> = [];
  for (const x of Array.isArray(list) ? list : []) {
    if (isObj(x) && isObj(x.DefElem) && typeof x.DefElem.defname === 'string') out.push({ defname: x.DefElem.defname, arg: x.DefElem.arg });
  }
  return out;
}

function constString(v: unknown): string | null {
  if (isObj(v) && isObj(v.A_Const) && isObj(v.A_Const.sval) && typeof v.A_Const.sval.sval === 'string') return v.A_Const.sval.sval;
  if (isObj(v) && isObj(v.TypeCast)) return constString(v.TypeCast.arg);
  return null;
}

function constAny(v: unknown): boolean {
  return isObj(v) && (isObj(v.A_Const) || (isObj(v.TypeCast) && constAny(v.TypeCast.arg)));
}

