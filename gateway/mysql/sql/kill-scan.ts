// Finds every KILL a MySQL/MariaDB statement text can run, however it is spelled, so the relay can
// map each one to a thread the user's session owns or refuse the whole text. The text is read in
// every dialect that can move its token boundaries (dialects.ts) and, at each `;`, every dialect
// again (a statement can change sql_mode or the character set for the ones after it); each
// versioned comment is read both run and skipped. A KILL anywhere (a compound statement, a routine
// body, an event) is accepted only as `KILL [HARD|SOFT] [CONNECTION|QUERY] <digits>` ending the
// statement; the digits are what the relay rewrites. Anything that could run a KILL the scanner
// cannot see is refused: KILL USER / QUERY ID / an expression, PREPARE or EXECUTE IMMEDIATE from
// anything but plain string literals, dynamic SQL whose literal holds a KILL (read the same way,
// recursively), sys.execute_prepared_stmt. Routines and events already stored on the target are not
// seen (DESIGN: per-grant accounts close that). Pure and bounded: a text too costly to read is refused.

import { dialectsFor, type Dialect } from './dialects.js';
import { MyLexer, stringValue, type Token } from './lexer.js';

/** The digits of one `KILL ... n`, as bytes of the text, and the id they name. */
export interface KillTarget {
  start: number;
  end: number;
  id: number;
}

export type KillScan =
  | { kind: 'none' }
  | { kind: 'kills'; targets: KillTarget[] }
  /** `at`: the byte offset in the text of what was refused (for the record of a padded statement). */
  | { kind: 'refuse'; reason: string; at: number };

export interface KillScanLimits {
  /** Bytes lexed in all, over all readings, as a multiple of the text's length (plus a fixed 1 MiB). */
  workFactor: number;
  /** Readings started (statements times dialects, plus versioned-comment branches). */
  maxThreads: number;
  /** Dynamic SQL inside dynamic SQL. */
  maxDepth: number;
}

export const KILL_SCAN_LIMITS: KillScanLimits = { workFactor: 40, maxThreads: 100_000, maxDepth: 4 };

const NONE: KillScan = Object.freeze({ kind: 'none' });

/** Scans a statement text (COM_QUERY or COM_STMT_PREPARE payload without its command byte). */
export function scanKills(text: Buffer, limits: KillScanLimits = KILL_SCAN_LIMITS): KillScan {
  if (!mentionsKeyword(text)) return NONE;
  const scan = new Scan(text, limits, 0, { work: limits.workFactor * text.length + (1 << 20), threads: limits.maxThreads });
  scan.run();
  if (scan.refusal !== null) return { kind: 'refuse', reason: scan.refusal, at: scan.refusedAt };
  if (scan.targets.size === 0) return NONE;
  return { kind: 'kills', targets: [...scan.targets.values()].sort((a, b) => a.start - b.start) };
}

/** The text with each target's digits replaced by the id `map` gives for it. */
export function rewriteKills(text: Buffer, targets: readonly KillTarget[], map: (id: number) => number): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (const t of targets) {
    parts.push(text.subarray(at, t.start), Buffer.from(String(map(t.id)), 'latin1'));
    at = t.end;
  }
  parts.push(text.subarray(at));
  return Buffer.concat(parts);
}

// Cheap first look: a text that spells none of these (in any case) can run no KILL, since every
// path to one needs one of them as contiguous bytes. Most statements stop here.
const KEYWORDS = ['kill', 'prepare', 'execute', 'binlog'].map((k) => Buffer.from(k, 'latin1'));

export function mentionsKeyword(text: Buffer): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text[i]! | 0x20;
    if (c !== 0x6b && c !== 0x70 && c !== 0x65 && c !== 0x62) continue;
    for (const k of KEYWORDS) {
      if (k[0] !== c || i + k.length > text.length) continue;
      let j = 1;
      while (j < k.length && (text[i + j]! | 0x20) === k[j]) j++;
      if (j === k.length) return true;
    }
  }
  return false;
}

interface Budget { work: number; threads: number }

/** One reading of one statement: a lexer and the matcher's state. */
interface Thread { lexer: MyLexer; matcher: Matcher }

class Scan {
  refusal: string | null = null;
  refusedAt = 0;
  /** Start of the token being read, where a refusal points. */
  private cursor = 0;
  readonly targets = new Map<number, KillTarget>();
  private readonly dialects: readonly Dialect[];
  private readonly stack: Thread[] = [];
  private readonly started = new Set<number>();

  constructor(readonly text: Buffer, readonly limits: KillScanLimits, readonly depth: number, readonly budget: Budget) {
    this.dialects = dialectsFor(text);
  }

  refuse(reason: string): void {
    if (this.refusal !== null) return;
    this.refusal = reason;
    this.refusedAt = this.cursor;
  }

  run(): void {
    this.statementsFrom(0, false);
    while (this.refusal === null) {
      const th = this.stack.pop();
      if (!th) return;
      this.follow(th);
    }
  }

  /** Starts a reading of the statement at `pos` in every dialect, once per (position, dialect, state). */
  private statementsFrom(pos: number, inVersioned: boolean): void {
    this.dialects.forEach((d, di) => {
      const key = (pos * 64 + di) * 2 + (inVersioned ? 1 : 0);
      if (this.started.has(key)) return;
      this.started.add(key);
      this.spawn({ lexer: new MyLexer(this.text, d, { pos, inVersioned }), matcher: new Matcher(this) });
    });
  }

  private spawn(th: Thread): void {
    if (--this.budget.threads < 0) { this.refuse('the statement is too complex for the gateway to check for KILL'); return; }
    this.stack.push(th);
  }

  private follow(th: Thread): void {
    const { lexer, matcher } = th;
    for (;;) {
      const before = lexer.pos;
      const tok = lexer.next();
      this.cursor = tok.start;
      this.budget.work -= lexer.pos - before + 1;
      if (this.budget.work < 0) { this.refuse('the statement is too complex for the gateway to check for KILL'); return; }
      if (tok.kind === 'ambiguous') { this.refuse('`--` before a non-ASCII byte reads differently in different character sets'); return; }
      if (tok.kind === 'branch') {
        const [first, ...rest] = lexer.alternatives;
        for (const alt of rest) this.spawn({ lexer: new MyLexer(this.text, lexer.dialect, alt), matcher: matcher.clone() });
        lexer.pos = first!.pos;
        lexer.inVersioned = first!.inVersioned;
        continue;
      }
      matcher.feed(tok, lexer.dialect);
      if (this.refusal !== null) return;
      if (tok.kind === 'eof') return;
      if (tok.kind === 'punct' && this.text[tok.start] === SEMICOLON) {
        this.statementsFrom(lexer.pos, lexer.inVersioned);
        return;
      }
    }
  }

  addTarget(t: KillTarget): void {
    this.targets.set(t.start, t);
  }

  /** Whether dynamic SQL text could run a KILL (or something the scanner cannot see). */
  innerRefusal(inner: Buffer): string | null {
    if (this.depth + 1 > this.limits.maxDepth) return 'dynamic SQL nested too deep for the gateway to check';
    if (!mentionsKeyword(inner)) return null;
    const sub = new Scan(inner, this.limits, this.depth + 1, this.budget);
    sub.run();
    if (sub.refusal !== null) return sub.refusal;
    return sub.targets.size > 0 ? 'KILL inside PREPARE or EXECUTE IMMEDIATE is refused: run it as a statement of its own' : null;
  }
}

const SEMICOLON = 0x3b;

type State =
  | { k: 'idle' }
  | { k: 'kill'; step: 0 | 1 | 2 | 3; query: boolean; target: KillTarget | null }
  | { k: 'prepare-name'; named: boolean }
  | { k: 'execute' }
  | { k: 'source'; what: 'PREPARE' | 'EXECUTE IMMEDIATE'; parts: Array<{ start: number; end: number }> };

/** The statement-level patterns, fed one token at a time (one statement: up to `;` or the end). */
class Matcher {
  private s: State = { k: 'idle' };
  /** Whether the statement's first word was read (BINLOG is refused only as a statement). */
  private started = false;

  constructor(private readonly scan: Scan) {}

  clone(): Matcher {
    const m = new Matcher(this.scan);
    m.s = this.s.k === 'source' ? { ...this.s, parts: [...this.s.parts] } : { ...this.s };
    m.started = this.started;
    return m;
  }

  feed(tok: Token, dialect: Dialect): void {
    const text = this.scan.text;
    if (!this.started && tok.kind === 'word') {
      this.started = true;
      // BINLOG '<base64>' replays binary-log events: any statement, KILL included, the gateway
      // cannot read (SHOW BINLOG EVENTS and the like start with another word and stay allowed).
      if (tok.end - tok.start === 6 && text.toString('latin1', tok.start, tok.end).toUpperCase() === 'BINLOG') {
        return this.scan.refuse('BINLOG is refused: its base64 events can run any statement unseen by the gateway');
      }
    }
    // Upper-cased word text only where a pattern can use it: big statements have millions of words.
    const word = tok.kind === 'word' && (this.s.k !== 'idle' || mayMatter(text, tok)) ? text.toString('latin1', tok.start, tok.end).toUpperCase() : null;
    const end = tok.kind === 'eof' || (tok.kind === 'punct' && text[tok.start] === SEMICOLON);
    const s = this.s;
    switch (s.k) {
      case 'kill': {
        if (s.step === 3) {
          if (end && s.target) { this.scan.addTarget(s.target); this.s = { k: 'idle' }; return; }
          return this.scan.refuse('KILL must be followed by a thread id alone (KILL [QUERY|CONNECTION] n)');
        }
        if (word === 'USER') return this.scan.refuse('KILL USER is refused: it would end every session of the shared target account');
        if (word === 'ID' && s.step === 2 && s.query) return this.scan.refuse('KILL QUERY ID is refused: query ids cannot be checked against your sessions');
        if (s.step === 0 && (word === 'HARD' || word === 'SOFT')) { s.step = 1; return; }
        if (s.step <= 1 && (word === 'CONNECTION' || word === 'QUERY')) { s.step = 2; s.query = word === 'QUERY'; return; }
        if (word !== null && /^[0-9]{1,20}$/.test(word)) {
          s.target = { start: tok.start, end: tok.end, id: Number(word) };
          s.step = 3;
          return;
        }
        return this.scan.refuse('KILL must name a thread id as a plain number');
      }
      case 'prepare-name':
        if (word === 'FROM' && s.named) { this.s = { k: 'source', what: 'PREPARE', parts: [] }; return; }
        if (tok.kind === 'word' || tok.kind === 'high' || tok.kind === 'qident' || tok.kind === 'string') { s.named = true; return; }
        this.s = { k: 'idle' };
        break;
      case 'execute':
        if (word === 'IMMEDIATE') { this.s = { k: 'source', what: 'EXECUTE IMMEDIATE', parts: [] }; return; }
        this.s = { k: 'idle' };
        break;
      case 'source': {
        // "..." is a string, or an identifier under ANSI_QUOTES: read it as a string either way.
        const q = text[tok.start];
        if ((tok.kind === 'string' || tok.kind === 'qident') && (q === 0x27 || q === 0x22)) { s.parts.push({ start: tok.start, end: tok.end }); return; }
        if (s.parts.length > 0 && (end || (word === 'USING' && s.what === 'EXECUTE IMMEDIATE'))) {
          const inner = Buffer.concat(s.parts.map((p) => stringValue(text, { kind: 'string', ...p }, dialect)));
          const r = this.scan.innerRefusal(inner);
          if (r !== null) return this.scan.refuse(r);
          this.s = { k: 'idle' };
          return;
        }
        return this.scan.refuse(`${s.what} from anything but a string literal is refused: the gateway cannot see whether it runs KILL`);
      }
      case 'idle':
        break;
    }
    if (word === null) return;
    if (isKillWord(word)) { this.s = { k: 'kill', step: 0, query: false, target: null }; return; }
    if (word === 'PREPARE') { this.s = { k: 'prepare-name', named: false }; return; }
    if (word === 'EXECUTE') { this.s = { k: 'execute' }; return; }
    if (word === 'EXECUTE_PREPARED_STMT') this.scan.refuse('sys.execute_prepared_stmt is refused: the gateway cannot see whether it runs KILL');
  }
}

/** Whether an idle matcher must look at this word: it starts like PREPARE/EXECUTE or ends like KILL. */
function mayMatter(text: Buffer, tok: Token): boolean {
  const first = text[tok.start]! | 0x20;
  if (first === 0x70 || first === 0x65) return true;
  const n = tok.end - tok.start;
  return n >= 4 && (text[tok.end - 4]! | 0x20) === 0x6b && (text[tok.end - 3]! | 0x20) === 0x69
    && (text[tok.end - 2]! | 0x20) === 0x6c && (text[tok.end - 1]! | 0x20) === 0x6c;
}

/**
 * KILL, also right after digits a server may read as a separate number or version
 * (`/*!50000KILL`, `1e5KILL`): a false alarm on an identifier like `123kill` costs little.
 */
function isKillWord(upper: string): boolean {
  return upper.endsWith('KILL') && /^(?:[0-9]+(?:E[0-9]+)?)?KILL$/.test(upper);
}
