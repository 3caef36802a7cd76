// A PostgreSQL statement's text as `--match` regexes see it: comments (`--` to the end of the line,
// `/* */` nested as PostgreSQL nests them) become one space, runs of whitespace outside quoted text
// collapse to one space, the ends are trimmed. Quoted text ('...', E'...' with backslash escapes,
// "...", $tag$...$tag$) is kept as written. A lexer, not a parser: it needs no grammar and never fails.

/** PostgreSQL's whitespace (scan.l: space, \t, \n, \r, \f, \v). */
const isSpace = (c: string): boolean => c === ' ' || c === '\n' || c === '\t' || c === '\r' || c === '\f' || c === '\v';

/**
 * What normalizing could change: whitespace other than single spaces, a comment's start, a space at
 * either end. A text with none of these is its own normalized form, quoted or not (most
 * application statements): no need to lex it.
 */
const CHANGES = /[\n\t\r\f\v]| {2}|--|\/\*|^ | $/;

export function normalizePg(sql: string): string {
  return CHANGES.test(sql) ? normalizePgLexed(sql) : sql;
}

/** The lexer itself (exported for the test that holds the shortcut above to it). */
export function normalizePgLexed(sql: string): string {
  let out = '';
  let space = false;
  const put = (s: string): void => {
    if (space && out.length > 0) out += ' ';
    space = false;
    out += s;
  };
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (isSpace(c)) { space = true; i++; continue; }
    if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n' && sql[i] !== '\r') i++;
      space = true;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') { depth++; i += 2; } else if (sql[i] === '*' && sql[i + 1] === '/') { depth--; i += 2; } else i++;
      }
      space = true;
      continue;
    }
    if (c === "'" || c === '"') {
      const escapes = c === "'" && i > 0 && (sql[i - 1] === 'E' || sql[i - 1] === 'e') && !/[A-Za-z0-9_$]/.test(sql[i - 2] ?? '');
      const end = quotedEnd(sql, i, c, escapes);
      put(sql.slice(i, end));
      i = end;
      continue;
    }
    if (c === '$') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 66));
      if (m && !/[A-Za-z0-9_$]/.test(sql[i - 1] ?? '')) {
        const close = sql.indexOf(m[0], i + m[0].length);
        const end = close < 0 ? n : close + m[0].length;
        put(sql.slice(i, end));
        i = end;
        continue;
      }
    }
    let j = i + 1;
    while (j < n && !isSpace(sql[j]!) && !"'\"$-/".includes(sql[j]!)) j++;
    put(sql.slice(i, j));
    i = j;
  }
  return out;
}

function quotedEnd(sql: string, i: number, q: string, backslash: boolean): number {
  let j = i + 1;
  while (j < sql.length) {
    const c = sql[j]!;
    if (backslash && c === '\\') { j += 2; continue; }
    if (c === q) {
      if (sql[j + 1] === q) { j += 2; continue; }
      return j + 1;
    }
    j++;
  }
  return sql.length;
}
