// MySQL/MariaDB query text as statements of tokens, for one reading (dialect) of the bytes, with
// the server's own lexer rules (../../mysql/sql/lexer.ts): comments dropped, versioned comments
// (`/*!`, `/*M!`) read as the code a server runs, statements split at top-level `;`. Each
// statement also gets its normalized text (comments gone, whitespace collapsed) for `--match`.
import type { Dialect } from '../../mysql/sql/dialects.js';
import { MyLexer, stringValue } from '../../mysql/sql/lexer.js';

export interface MyToken {
  kind: 'word' | 'high' | 'string' | 'qident' | 'punct';
  /** Words in lower case; other tokens as written. */
  text: string;
  /** Parenthesis depth at the token. */
  depth: number;
  /** A string's value (unescaped) for string tokens. */
  value?: string;
}

export interface MyStatement {
  tokens: MyToken[];
  normalized: string;
}

export function myStatements(text: Buffer, dialect: Dialect): MyStatement[] {
  const lexer = new MyLexer(text, dialect);
  const out: MyStatement[] = [];
  let tokens: MyToken[] = [];
  let parts: Buffer[] = [];
  let prevEnd = -1;
  let depth = 0;
  const end = (): void => {
    if (tokens.length > 0) out.push({ tokens, normalized: Buffer.concat(parts).toString('utf8') });
    tokens = [];
    parts = [];
    depth = 0;
    prevEnd = -1;
  };
  for (;;) {
    const t = lexer.next();
    if (t.kind === 'eof') break;
    if (t.kind === 'branch') {
      // Read as code: the conservative reading (a server that skips it runs less).
      const run = lexer.alternatives[0]!;
      lexer.pos = run.pos;
      lexer.inVersioned = run.inVersioned;
      prevEnd = -1;
      continue;
    }
    const start = t.start;
    let stop = t.end;
    let kind: MyToken['kind'] = t.kind === 'ambiguous' ? 'punct' : t.kind;
    if (t.kind === 'ambiguous') {
      // `--` before a non-ASCII byte: a comment in some character sets, code in others; read as code.
      stop = start + 1;
      lexer.pos = stop;
      kind = 'punct';
    }
    const raw = text.subarray(start, stop);
    if (kind === 'punct' && raw[0] === 0x3b) { end(); continue; }
    if (tokens.length > 0 && start !== prevEnd) parts.push(SPACE);
    parts.push(raw);
    prevEnd = stop;
    const s = raw.toString('utf8');
    if (kind === 'punct' && s === ')') depth = Math.max(0, depth - 1);
    const tok: MyToken = { kind, text: kind === 'word' ? s.toLowerCase() : s, depth };
    if (kind === 'string') tok.value = stringValue(text, t, dialect).toString('utf8');
    tokens.push(tok);
    if (kind === 'punct' && s === '(') depth++;

  }
  end();
  return out;
}

const SPACE = Buffer.from(' ');
