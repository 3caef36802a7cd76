// A MySQL/MariaDB statement lexer over raw bytes, for one dialect (dialects.ts), written to match
// the servers' own lexers (MariaDB sql_lex.cc) where it matters for finding KILL: comments (`#` and
// `-- ` to the end of the line or a NUL byte, `/* */`), versioned comments (`/*!` and `/*M!`, whose
// contents a server runs as code), strings with backslash escapes and doubled quotes, quoted
// identifiers. Where servers differ or depend on settings it cannot see, it says so: a versioned
// comment with a version number is a `branch` (run as code, or skipped, depending on the server's
// version and kind), `--` before a non-ASCII byte is `ambiguous` (a space in some character sets).
// Non-ASCII bytes are their own tokens, so a keyword next to one is still seen. Knows no grammar.

import type { Dialect } from './dialects.js';

export type TokenKind = 'word' | 'high' | 'string' | 'qident' | 'punct' | 'eof' | 'branch' | 'ambiguous';

/** A token's span; the lexer reuses one object (no allocation per token on big statements). */
export interface Token {
  kind: TokenKind;
  start: number;
  end: number;
}

/** Where a lexer may continue after a versioned comment: as code inside it, or after it. */
export interface Continuation {
  pos: number;
  inVersioned: boolean;
}


// Byte classes, looked up once per byte: big statements are lexed in several readings.
const OTHER = 0, SPACE = 1, WORD = 2, HIGH = 3;
const CLASS = new Uint8Array(256).map((_, b) =>
  b === 0x20 || (b >= 0x09 && b <= 0x0d) ? SPACE
    : (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f || b === 0x24 ? WORD
      : b >= 0x80 ? HIGH : OTHER);
const isDigit = (b: number | undefined): boolean => b !== undefined && b >= 0x30 && b <= 0x39;
/** After `--`: a space or a control byte (or the end) starts a comment. */
const startsDashComment = (b: number | undefined): boolean => b === undefined || b <= 0x20 || b === 0x7f;

const SLASH = 0x2f, STAR = 0x2a, BANG = 0x21, HASH = 0x23, DASH = 0x2d, NL = 0x0a, BACKSLASH = 0x5c;
const SQUOTE = 0x27, DQUOTE = 0x22, BACKTICK = 0x60, M = 0x4d;

export class MyLexer {
  pos: number;
  inVersioned: boolean;
  /** The ways to go on after a `branch` token. */
  alternatives: Continuation[] = [];
  private readonly tok: Token = { kind: 'eof', start: 0, end: 0 };
  private nextBackslash = -2;

  constructor(readonly text: Buffer, readonly dialect: Dialect, at: Continuation = { pos: 0, inVersioned: false }) {
    this.pos = at.pos;
    this.inVersioned = at.inVersioned;
  }

  private emit(kind: TokenKind, start: number, end: number): Token {
    const tok = this.tok;
    tok.kind = kind;
    tok.start = start;
    tok.end = end;
    return tok;
  }

  /**
   * The next token, valid until the next call. After `branch` the caller picks one of
   * `alternatives` (and may clone for the others); `ambiguous` leaves the position where it was.
   */
  next(): Token {
    const t = this.text;
    for (;;) {
      const i = this.pos;
      if (i >= t.length) return this.emit('eof', i, i);
      const b = t[i]!;
      const cls = CLASS[b]!;
      if (cls === SPACE) { this.pos++; continue; }
      if (cls === WORD) {
        let j = i + 1;
        while (j < t.length && CLASS[t[j]!] === WORD) j++;
        this.pos = j;
        return this.emit('word', i, j);
      }
      if (cls === HIGH) {
        this.pos = i + this.dialect.charLen(t, i);
        return this.emit('high', i, this.pos);
      }
      if (b === HASH) { this.pos = lineEnd(t, i); continue; }
      if (b === DASH && t[i + 1] === DASH) {
        const after = t[i + 2];
        if (startsDashComment(after)) { this.pos = lineEnd(t, i); continue; }
        if (after !== undefined && after >= 0x80) return this.emit('ambiguous', i, i + 3);
      }
      if (b === SLASH && t[i + 1] === STAR) {
        if (this.comment(i)) return this.emit('branch', i, i + 2);
        continue;
      }
      if (b === STAR && t[i + 1] === SLASH && this.inVersioned) {
        // The end of a versioned comment run as code: a boundary, like a space.
        this.inVersioned = false;
        this.pos = i + 2;
        continue;
      }
      if (b === SQUOTE || (b === DQUOTE && !this.dialect.ansiQuotes)) {
        this.pos = this.quoted(i, b, this.dialect.backslash);
        return this.emit('string', i, this.pos);
      }
      if (b === BACKTICK || b === DQUOTE) {
        this.pos = this.quoted(i, b, false);
        return this.emit('qident', i, this.pos);
      }
      // `\N` is NULL: the letters after it start a new word (`\NKILL` is NULL, then KILL).
      const n = b === BACKSLASH && t[i + 1] === 0x4e ? 2 : 1;
      this.pos = i + n;
      return this.emit('punct', i, i + n);
    }
  }

  /** At `/*`: skips a comment (false) or sets the alternatives of a versioned one (true). */
  private comment(i: number): boolean {
    const t = this.text;
    const maria = t[i + 2] === M && t[i + 3] === BANG;
    if (t[i + 2] !== BANG && !maria) {
      this.pos = commentEnd(t, i + 2, 0);
      return false;
    }
    const body = i + (maria ? 4 : 3);
    let digits = 0;
    while (digits < 6 && isDigit(t[body + digits])) digits++;
    if (digits < 5 && !maria) {
      // `/*!` without a version: every server runs it.
      this.pos = body;
      this.inVersioned = true;
      return false;
    }
    // MariaDB runs it when its version is high enough (and skips it with one nested comment
    // allowed inside); MySQL reads `/*M!` as a plain comment. Five or six digits, as the server reads.
    const run = { pos: body + (digits >= 5 ? digits : 0), inVersioned: true };
    const alternatives: Continuation[] = [run, { pos: commentEnd(t, body, 1), inVersioned: this.inVersioned }];
    if (maria) alternatives.push({ pos: commentEnd(t, i + 2, 0), inVersioned: this.inVersioned });
    if (digits === 6) alternatives.push({ pos: body + 5, inVersioned: true });
    this.alternatives = alternatives;
    return true;
  }

  /** The end (exclusive) of a quoted string or identifier starting at `i`; the text's end when unterminated. */
  private quoted(i: number, quote: number, backslash: boolean): number {
    if (this.dialect.mb === null) return this.quotedSingleByte(i, quote, backslash);
    const t = this.text;
    let j = i + 1;
    while (j < t.length) {
      const n = this.dialect.charLen(t, j);
      if (n > 1) { j += n; continue; }
      const b = t[j]!;
      if (backslash && b === BACKSLASH) { j += 2; continue; }
      if (b === quote) {
        if (t[j + 1] === quote) { j += 2; continue; }
        return j + 1;
      }
      j++;
    }
    return t.length;
  }

  /** `quoted` without double-byte characters: native searches for the quote and the backslash. */
  private quotedSingleByte(i: number, quote: number, backslash: boolean): number {
    const t = this.text;
    let j = i + 1;
    for (;;) {
      const q = t.indexOf(quote, j);
      if (q < 0) return t.length;
      const bs = backslash ? this.backslashFrom(j) : -1;
      if (bs >= 0 && bs < q) { j = bs + 2; continue; }
      if (t[q + 1] === quote) { j = q + 2; continue; }
      return q + 1;
    }
  }

  /** The next backslash at or after `j` (-1: none), searched again only once passed. */
  private backslashFrom(j: number): number {
    if (this.nextBackslash !== -1 && this.nextBackslash < j) this.nextBackslash = this.text.indexOf(BACKSLASH, j);
    return this.nextBackslash;
  }
}

/** `#` and `-- ` comments end at a newline or a NUL byte (the newline is whitespace after). */
function lineEnd(t: Buffer, i: number): number {
  let j = i;
  while (j < t.length && t[j] !== NL && t[j] !== 0) j++;
  return j;
}

/** After `/*` (at `from`): the position after the closing `*\/`, allowing `nested` levels of `/* *\/` inside. */
function commentEnd(t: Buffer, from: number, nested: number): number {
  let j = from;
  while (j < t.length) {
    if (nested > 0 && t[j] === SLASH && t[j + 1] === STAR) {
      j = commentEnd(t, j + 2, nested - 1);
      continue;
    }
    if (t[j] === STAR && t[j + 1] === SLASH) return j + 2;
    j++;
  }
  return t.length;
}

/** Unescapes the contents of a string token as the server does for this dialect (quotes removed). */
export function stringValue(text: Buffer, tok: Token, dialect: Dialect): Buffer {
  const quote = text[tok.start]!;
  const closed = tok.end - tok.start >= 2 && text[tok.end - 1] === quote;
  const end = closed ? tok.end - 1 : tok.end;
  const out = Buffer.alloc(end - tok.start);
  let o = 0;
  for (let j = tok.start + 1; j < end;) {
    const n = dialect.charLen(text, j);
    if (n > 1) { text.copy(out, o, j, j + n); o += n; j += n; continue; }
    const b = text[j]!;
    if (dialect.backslash && b === BACKSLASH && j + 1 < end) {
      const e = text[j + 1]!;
      const mapped = ESCAPES.get(e);
      if (e === 0x25 || e === 0x5f) { out[o++] = BACKSLASH; out[o++] = e; } // \% and \_ keep the backslash
      else out[o++] = mapped ?? e;
      j += 2;
      continue;
    }
    if (b === quote && text[j + 1] === quote) { out[o++] = quote; j += 2; continue; }
    out[o++] = b;
    j++;
  }
  return out.subarray(0, o);
}

const ESCAPES = new Map<number, number>([[0x30, 0], [0x62, 8], [0x6e, 10], [0x72, 13], [0x74, 9], [0x5a, 26]]);
