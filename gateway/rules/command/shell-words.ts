// Splits a shell command line into simple commands, each a list of words with shell quoting
// removed, the way bash would see them before expansion: `;`, `&&`, `||`, `|`, `&`, newlines and
// `( )` separate commands; the contents of `$(...)`, backticks and `<(...)`/`>(...)` are commands
// of their own (the word keeps its raw text); redirections and their targets are dropped; `'r'm`,
// `r\m`, `"rm"` and `$'\x72m'` are all `rm`; unquoted `{a,b}` is brace-expanded. Unquoted glob and
// expansion characters are remembered per word (a command named `r?` or `$X` is not a literal).
// Does not expand variables, run anything or know aliases. Total: any input yields commands; an
// unterminated quote or substitution runs to the end and sets `incomplete`. Linear in the input
// except brace expansion, which is capped.

/** One word: its text after quote removal, and whether unquoted glob or `$` expansion was in it. */
export interface Word {
  text: string;
  /** Unquoted `*`, `?` or `[`: the shell would expand it against file names. */
  glob: boolean;
  /** An unquoted `$NAME`, `${...}`, `$(...)` or backtick: the text is not what runs. */
  expands: boolean;
}

export interface Split {
  commands: Word[][];
  /** A quote, substitution or trailing backslash was still open at the end (an interactive continuation). */
  incomplete: boolean;
  /** Nesting or brace expansion beyond the limits: the caller cannot trust the split. */
  overflow: boolean;
}

const MAX_DEPTH = 16;
const MAX_BRACE_WORDS = 256;
// Unquoted brace characters are carried as private-use sentinels until the word is complete.
const B_OPEN = '\uE000';
const B_COMMA = '\uE001';
const B_CLOSE = '\uE002';
const SPLIT = '\uE003';

export function splitCommands(src: string): Split {
  const s = new Scanner(src);
  s.list(0, false);
  return { commands: s.out, incomplete: s.incomplete, overflow: s.overflow };
}

class Scanner {
  i = 0;
  readonly out: Word[][] = [];
  incomplete = false;
  overflow = false;

  constructor(private readonly src: string) {}

  /** Reads commands until the end, or until an unmatched `)` when `inParen` (consumed). */
  list(depth: number, inParen: boolean): void {
    if (depth > MAX_DEPTH) { this.overflow = true; this.i = this.src.length; return; }
    const src = this.src;
    let cur: Word[] = [];
    let w: WordBuilder | null = null;
    let dropNext = false;
    const endWord = (): void => {
      if (w === null) return;
      const built = w;
      w = null;
      if (dropNext) { dropNext = false; return; }
      if (built.isGroupBrace()) {
        if (cur.length > 0) this.out.push(cur);
        cur = [];
        return;
      }
      for (const x of built.finish(this)) cur.push(x);
    };
    const endCommand = (): void => {
      endWord();
      dropNext = false;
      if (cur.length > 0) this.out.push(cur);
      cur = [];
    };
    // Before a redirection: an fd number (`2>`) is part of the operator; any other word ends there.
    const redirectWord = (): void => {
      if (w !== null && w.isFdNumber() && !dropNext) w = null;
      else endWord();
    };
    let parens = 0;
    while (this.i < src.length) {
      const c = src[this.i]!;
      if (c === ' ' || c === '\t') { endWord(); this.i++; continue; }
      if (c === '\n' || c === ';' || c === '|' || c === '\r') { endCommand(); this.i++; continue; }
      if (c === '&') {
        if (src[this.i + 1] === '>') { redirectWord(); this.operator(); dropNext = true; continue; }
        endCommand(); this.i++; continue;
      }
      if (c === '(') {
        // A subshell or grouping: its commands are commands (nesting tracked so `)` closes the right one).
        endCommand(); parens++; this.i++; continue;
      }
      if (c === ')') {
        endCommand(); this.i++;
        if (parens > 0) { parens--; continue; }
        if (inParen) return;
        continue;
      }
      if (c === '<' || c === '>') {
        if (src[this.i + 1] === '(') {
          // Process substitution: a command of its own; the word is its raw text.
          const start = this.i;
          this.i += 2;
          this.list(depth + 1, true);
          w ??= new WordBuilder();
          w.raw(src.slice(start, this.i));
          w.expands = true;
          continue;
        }
        redirectWord();
        this.operator();
        dropNext = true;
        continue;
      }
      if (c === '#' && w === null) {
        while (this.i < src.length && src[this.i] !== '\n') this.i++;
        continue;
      }
      w ??= new WordBuilder();
      this.wordChar(w, depth, false);
    }
    endCommand();
    if (inParen) this.incomplete = true;
  }

  /** Skips a redirection operator (`>`, `>>`, `2>&`, `<<-`, `&>` ...); the caller drops its target word. */
  private operator(): void {
    while (this.i < this.src.length && '<>&|-'.includes(this.src[this.i]!)) this.i++;
  }

  /** One character (or quoted run) of a word at `this.i`. `dq`: inside double quotes. */
  private wordChar(w: WordBuilder, depth: number, dq: boolean): void {
    const src = this.src;
    const c = src[this.i]!;
    if (c === '\\') {
      const n = src[this.i + 1];
      if (n === undefined) { this.incomplete = true; this.i++; return; }
      this.i += 2;
      if (n === '\n') return;
      if (dq && !'$`"\\'.includes(n)) w.lit('\\');
      w.lit(n);
      return;
    }
    if (c === "'" && !dq) {
      const end = src.indexOf("'", this.i + 1);
      if (end < 0) { this.incomplete = true; w.lit(src.slice(this.i + 1)); this.i = src.length; return; }
      w.lit(src.slice(this.i + 1, end));
      w.quoted = true;
      this.i = end + 1;
      return;
    }
    if (c === '"' && !dq) {
      this.i++;
      w.quoted = true;
      while (this.i < src.length && src[this.i] !== '"') this.wordChar(w, depth, true);
      if (this.i >= src.length) this.incomplete = true;
      this.i++;
      return;
    }
    if (c === '`') {
      const start = this.i;
      let inner = '';
      this.i++;
      while (this.i < src.length && src[this.i] !== '`') {
        if (src[this.i] === '\\' && this.i + 1 < src.length) { inner += src[this.i + 1]; this.i += 2; } else inner += src[this.i++];
      }
      if (this.i >= src.length) this.incomplete = true;
      this.i++;
      this.nested(inner, depth);
      w.raw(src.slice(start, this.i));
      w.expands = true;
      return;
    }
    if (c === '$') {
      const n = src[this.i + 1];
      if (n === "'" && !dq) { this.ansiC(w); return; }
      if (n === '"' && !dq) { this.i++; return; }
      if (n === '(' && src[this.i + 2] === '(') {
        // Arithmetic: no commands, but `$(( ))` may hold `$(...)`: scanned as commands anyway.
        const start = this.i;
        this.i += 3;
        this.list(depth + 1, true);
        if (src[this.i] === ')') this.i++;
        w.raw(src.slice(start, this.i));
        w.expands = true;
        return;
      }
      if (n === '(') {
        const start = this.i;
        this.i += 2;
        this.list(depth + 1, true);
        w.raw(src.slice(start, this.i));
        w.expands = true;
        return;
      }
      if (!dq && /^\$(?:IFS\b|\{IFS\})/.test(src.slice(this.i, this.i + 6))) {
        // Unquoted $IFS splits the word where it stands (`rm${IFS}-rf${IFS}x` runs `rm -rf x`).
        this.i += src[this.i + 1] === '{' ? 6 : 4;
        w.raw(SPLIT);
        return;
      }
      if (n !== undefined && /[A-Za-z0-9_{@*#?$!-]/.test(n)) {
        w.expands = true;
        w.raw('$');
        this.i++;
        return;
      }
      w.lit('$');
      this.i++;
      return;
    }
    if (!dq) {
      if (c === '*' || c === '?' || c === '[') { w.glob = true; w.lit(c); this.i++; return; }
      if (c === '{') { w.braceChar(B_OPEN); this.i++; return; }
      if (c === ',') { w.braceChar(B_COMMA); this.i++; return; }
      if (c === '}') { w.braceChar(B_CLOSE); this.i++; return; }
    }
    w.lit(c);
    this.i++;
  }

  private nested(inner: string, depth: number): void {
    if (depth + 1 > MAX_DEPTH) { this.overflow = true; return; }
    const sub = new Scanner(inner);
    sub.list(depth + 1, false);
    for (const c of sub.out) this.out.push(c);
    if (sub.overflow) this.overflow = true;
  }

  /** `$'...'`: ANSI-C quoting, decoded the way bash does (`$'\x72\x6d'` is `rm`). */
  private ansiC(w: WordBuilder): void {
    const src = this.src;
    this.i += 2;
    w.quoted = true;
    while (this.i < src.length && src[this.i] !== "'") {
      const c = src[this.i]!;
      if (c !== '\\') { w.lit(c); this.i++; continue; }
      const n = src[this.i + 1] ?? '';
      this.i += 2;
      const simple: Record<string, string> = { a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };
      if (n in simple) { w.lit(simple[n]!); continue; }
      const hex = (max: number): string => {
        const m = new RegExp(`^[0-9a-fA-F]{1,${max}}`).exec(src.slice(this.i, this.i + max));
        if (!m) return '';
        this.i += m[0].length;
        const cp = parseInt(m[0], 16);
        return cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
      };
      if (n === 'x') { w.lit(hex(2)); continue; }
      if (n === 'u') { w.lit(hex(4)); continue; }
      if (n === 'U') { w.lit(hex(8)); continue; }
      if (n >= '0' && n <= '7') {
        const m = /^[0-7]{0,2}/.exec(src.slice(this.i, this.i + 2))![0];
        this.i += m.length;
        w.lit(String.fromCharCode(parseInt(n + m, 8) & 0xff));
        continue;
      }
      if (n === 'c') { const x = src[this.i] ?? ''; this.i++; w.lit(String.fromCharCode(x.toUpperCase().charCodeAt(0) ^ 0x40)); continue; }
      w.lit('\\' + n);
    }
    if (this.i >= src.length) this.incomplete = true;
    this.i++;
  }

  tooManyWords(): void {
    this.overflow = true;
  }
}

class WordBuilder {
  private text = '';
  private braces = false;
  quoted = false;
  glob = false;
  expands = false;

  lit(s: string): void { this.text += s; }
  raw(s: string): void { this.text += s; }
  braceChar(sentinel: string): void { this.text += sentinel; this.braces = true; }

  isFdNumber(): boolean {
    return !this.quoted && /^\d+$/.test(this.text);
  }

  finish(sc: Scanner): Word[] {
    const texts = (this.braces ? expandBraces(this.text, sc) : [this.text]).flatMap((t) => t.split(SPLIT)).filter((t, i) => t !== '' || i === 0);
    return texts.map((t) => ({ text: t, glob: this.glob, expands: this.expands }));
  }

  /** A lone unquoted `{` or `}`: a group's brace, which separates commands (`function f { rm x; }`). */
  isGroupBrace(): boolean {
    return this.text === B_OPEN || this.text === B_CLOSE;
  }
}

/** Bash brace expansion of unquoted `{a,b}` (sentinels), capped; `{x}` without a comma stays literal. */
function expandBraces(text: string, sc: Scanner): string[] {
  let words = [text];
  for (let round = 0; round < 32; round++) {
    const next: string[] = [];
    let changed = false;
    for (const w of words) {
      const e = expandOne(w);
      if (e) { changed = true; next.push(...e); } else next.push(w);
      if (next.length > MAX_BRACE_WORDS) { sc.tooManyWords(); return words.map(plain); }
    }
    words = next;
    if (!changed) break;
  }
  return words.map(plain);
}

/** Expands the first innermost-balanced `{..,..}` group; null when there is none. */
function expandOne(w: string): string[] | null {
  // lastIndexOf with a negative start searches from 0 again: stop explicitly after index 0.
  for (let open = w.lastIndexOf(B_OPEN); open >= 0; open = open === 0 ? -1 : w.lastIndexOf(B_OPEN, open - 1)) {
    const close = w.indexOf(B_CLOSE, open);
    if (close < 0) continue;
    const body = w.slice(open + 1, close);
    if (body.includes(B_OPEN)) continue;
    if (!body.includes(B_COMMA)) {
      // `{x}` is literal: turn this group's sentinels into text so the next round looks further left.
      return [w.slice(0, open) + '{' + body + '}' + w.slice(close + 1)];
    }
    return body.split(B_COMMA).map((alt) => w.slice(0, open) + alt + w.slice(close + 1));
  }
  return null;
}

function plain(w: string): string {
  return w.replaceAll(B_OPEN, '{').replaceAll(B_COMMA, ',').replaceAll(B_CLOSE, '}');
}
