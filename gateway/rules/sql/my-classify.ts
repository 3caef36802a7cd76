// MySQL/MariaDB statement facts from tokens alone (my-tokens.ts), by the statement's leading
// keywords, as the server's grammar starts: DROP, TRUNCATE, CREATE/ALTER/RENAME (USER and ROLE are
// grants too), GRANT/REVOKE, SET PASSWORD / DEFAULT ROLE, LOAD DATA/XML, SET GLOBAL/PERSIST, UPDATE
// or DELETE without a top-level WHERE, INTO OUTFILE/DUMPFILE anywhere, and a name before `(` as a
// function call. EXPLAIN/ANALYZE/DESCRIBE and WITH are looked through (MariaDB's ANALYZE DELETE runs
// the DELETE). Routine, trigger and event bodies (compound statements, split at their `;` like any
// text) are read keyword by keyword. Dynamic SQL (PREPARE ... FROM, EXECUTE IMMEDIATE,
// sys.execute_prepared_stmt) is read when its text is a literal, else it cannot be seen. A
// statement whose first word is none the server starts a statement with is unparsable.
import type { SqlClass } from '../rule-spec.js';
import type { MyToken } from './my-tokens.js';

export interface MyFacts {
  classes: Set<SqlClass>;
  functions: Set<string>;
  /** SQL given as literal text to PREPARE / EXECUTE IMMEDIATE: analysed by the caller. */
  nested: string[];
  /** Why this statement cannot be read (null: it can). */
  unparsable: string | null;
  /** PREPARE name FROM 'literal' (name in lower case: MySQL's are case-insensitive), EXECUTE name: for the session's memory. */
  prepares: Array<{ name: string; text: string }>;
  executes: string[];
}

/** The first words the server starts a statement with (those in a class are classified by byLead). */
const KNOWN_LEADS = new Set(['select', 'insert', 'replace', 'set', 'show', 'use', 'begin', 'start', 'commit', 'rollback', 'savepoint', 'release',
  'lock', 'unlock', 'help', 'do', 'call', 'values', 'table', 'handler', 'checksum', 'check', 'optimize', 'repair', 'flush', 'reset', 'purge',
  'kill', 'change', 'stop', 'shutdown', 'install', 'uninstall', 'xa', 'signal', 'resignal', 'get', 'deallocate', 'cache', 'backup', 'binlog',
  'execute', 'prepare', 'with', 'explain', 'describe', 'desc', 'analyze', 'load', 'drop', 'truncate', 'create', 'alter', 'rename', 'grant',
  'revoke', 'update', 'delete']);
/** Words that open a compound statement's body: from there the text is read keyword by keyword. */
const ROUTINES = new Set(['procedure', 'function', 'trigger', 'event']);
/** Statement kinds an EXPLAIN / ANALYZE / WITH leads to. */
const DML = new Set(['select', 'insert', 'replace', 'update', 'delete', 'table', 'values']);

export function classifyMy(tokens: readonly MyToken[], compound: boolean): MyFacts & { opensCompound: boolean } {
  const f: MyFacts = { classes: new Set(), functions: new Set(), nested: [], unparsable: null, prepares: [], executes: [] };
  callsAndOutfile(tokens, f);
  dynamicSql(tokens, f);
  if (compound) { anywhere(tokens, f); return { ...f, opensCompound: false }; }
  let i = 0;
  while (tokens[i]?.text === '(') i++;
  const lead = tokens[i];
  if (!lead) return { ...f, opensCompound: false };
  if (lead.kind !== 'word' || !KNOWN_LEADS.has(lead.text)) {
    f.unparsable = `a statement starting with "${lead.text.slice(0, 40)}" cannot be read`;
    return { ...f, opensCompound: false };
  }
  let word = lead.text;
  if (word === 'explain' || word === 'analyze' || word === 'describe' || word === 'desc' || word === 'with') {
    const j = tokens.findIndex((t, k) => k > i && t.kind === 'word' && t.depth === lead.depth && DML.has(t.text));
    if (j < 0) return { ...f, opensCompound: false };
    i = j;
    word = tokens[j]!.text;
  }
  const rest = tokens.slice(i + 1).filter((t) => t.kind === 'word').map((t) => t.text);
  const opensCompound = (word === 'create' || word === 'alter') && rest.some((w) => ROUTINES.has(w));
  byLead(word, rest, tokens.slice(i + 1), f);
  if (opensCompound) anywhere(tokens.slice(i + 1), f);
  if (lead.text === 'begin' && rest[0] === 'not') { anywhere(tokens, f); return { ...f, opensCompound: true }; }
  return { ...f, opensCompound };
}

function byLead(word: string, rest: readonly string[], after: readonly MyToken[], f: MyFacts): void {
  const roleOrUser = rest.slice(0, 4).some((w) => w === 'user' || w === 'role');
  switch (word) {
    case 'drop': add(f, 'ddl', 'drop'); if (roleOrUser) add(f, 'grant'); break;
    case 'truncate': add(f, 'ddl', 'truncate'); break;
    case 'create': case 'alter': case 'rename':
      add(f, 'ddl');
      if (roleOrUser) add(f, 'grant');
      if (word === 'alter' && rest.includes('drop') && (rest.includes('column') || rest[0] === 'table')) add(f, 'drop');
      if (word === 'alter' && rest.includes('truncate')) add(f, 'truncate'); // ALTER TABLE ... TRUNCATE PARTITION
      break;
    case 'grant': case 'revoke': add(f, 'grant'); break;
    case 'set':
      if (rest[0] === 'password' || (rest[0] === 'default' && rest[1] === 'role')) add(f, 'grant');
      if (after.some((t) => t.kind === 'word' && t.depth === 0 && (t.text === 'global' || t.text === 'persist' || t.text === 'persist_only'))) add(f, 'alter-system');
      break;
    case 'load': if (rest[0] === 'data' || rest[0] === 'xml') add(f, 'copy-program'); break;
    case 'update': case 'delete': {
      const where = after.findIndex((t) => t.kind === 'word' && t.depth === 0 && t.text === 'where');
      if (where < 0 || !after.slice(where + 1).some(isIdentifier)) add(f, 'unbounded-write');
      break;
    }
  }
}

/** Inside a routine body: every keyword counts wherever it is. */
function anywhere(tokens: readonly MyToken[], f: MyFacts): void {
  const words = tokens.filter((t) => t.kind === 'word').map((t) => t.text);
  words.forEach((w, k) => {
    const prev = words[k - 1];
    switch (w) {
      case 'drop': add(f, 'ddl', 'drop'); break;
      case 'truncate': add(f, 'ddl', 'truncate'); break;
      case 'create': case 'alter': case 'rename': add(f, 'ddl'); break;
      case 'grant': case 'revoke': add(f, 'grant'); break;
      case 'user': case 'role': if (prev === 'create' || prev === 'alter' || prev === 'drop' || prev === 'rename') add(f, 'grant'); break;
      case 'password': if (prev === 'set') add(f, 'grant'); break;
      case 'load': add(f, 'copy-program'); break;
      case 'global': case 'persist': case 'persist_only': add(f, 'alter-system'); break;
      case 'update': case 'delete':
        // FOR UPDATE, ON UPDATE, ON DUPLICATE KEY UPDATE are not writes.
        if (prev !== 'for' && prev !== 'on' && prev !== 'key' && !words.slice(k + 1).includes('where')) add(f, 'unbounded-write');
        break;
    }
  });
}

function callsAndOutfile(tokens: readonly MyToken[], f: MyFacts): void {
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind === 'word' && t.text === 'into' && (tokens[k + 1]?.text === 'outfile' || tokens[k + 1]?.text === 'dumpfile')) add(f, 'copy-program');
    if ((t.kind === 'word' || t.kind === 'qident') && tokens[k + 1]?.text === '(') {
      f.functions.add(t.kind === 'word' ? t.text : t.text.slice(1, -1).replaceAll(t.text[0]! + t.text[0]!, t.text[0]!).toLowerCase());
    }
  }
}

/** PREPARE s FROM 'sql', EXECUTE IMMEDIATE 'sql', CALL sys.execute_prepared_stmt('sql'): read the literal; anything else cannot be seen. */
function dynamicSql(tokens: readonly MyToken[], f: MyFacts): void {
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    let src: number;
    if (t.kind === 'word' && t.text === 'prepare') {
      src = tokens.findIndex((x, j) => j > k && x.kind === 'word' && x.text === 'from') + 1;
      if (src === 0) continue;
    } else if (t.kind === 'word' && t.text === 'execute' && tokens[k + 1]?.text === 'immediate') {
      src = k + 2;
    } else if (t.kind === 'word' && t.text === 'execute' && k === 0) {
      const name = statementName(tokens[k + 1]);
      if (name !== null) f.executes.push(name);
      continue;
    } else if (t.kind === 'word' && t.text === 'execute_prepared_stmt' && tokens[k + 1]?.text === '(') {
      src = k + 2;
    } else continue;
    const s = tokens[src];
    const next = tokens[src + 1];
    if (s?.kind === 'string' && s.value !== undefined && (next === undefined || next.text === ')' || next.text === 'using' || (next.kind === 'word' && next.text !== 'collate'))) {
      f.nested.push(s.value);
      const name = t.text === 'prepare' ? statementName(tokens[k + 1]) : null;
      if (name !== null) f.prepares.push({ name, text: s.value });
    } else {
      f.unparsable = 'dynamic SQL (PREPARE or EXECUTE IMMEDIATE of a computed string) cannot be seen';
    }
  }
}

function statementName(t: MyToken | undefined): string | null {
  if (t?.kind === 'word') return t.text;
  if (t?.kind === 'qident') return t.text.slice(1, -1).replace(/``/g, '`').toLowerCase();
  return null;
}

/**
 * Words in a WHERE that are not column names. Without the parser (over its size limit) a WHERE
 * bounds a write only when it names something else: `WHERE 1 OR 'x...'` does not.
 */
const NOT_COLUMNS = new Set(['and', 'or', 'not', 'xor', 'is', 'null', 'true', 'false', 'unknown', 'in', 'like', 'between', 'exists', 'div', 'mod',
  'binary', 'collate', 'interval', 'case', 'when', 'then', 'else', 'end', 'regexp', 'rlike', 'sounds', 'escape', 'any', 'all', 'some', 'limit', 'order', 'by',
  'asc', 'desc', 'returning']);
const isIdentifier = (t: MyToken): boolean => t.kind === 'qident' || (t.kind === 'word' && !NOT_COLUMNS.has(t.text) && !/^[0-9]/.test(t.text) && !t.text.startsWith('_'));

function add(f: MyFacts, ...classes: SqlClass[]): void {
  for (const c of classes) f.classes.add(c);
}
