// The keys side of a submitted line (line-gate.ts reads the screen side): fed the terminal's input
// and output bytes; for each Enter in an input chunk it says where the Enter is and what was
// typed. It can tell only for plain typing with backspace and Ctrl-U: after an escape sequence
// (arrow keys, history) or a tab (completion) the shell's idea of the line is unknown, and the
// line is reported as `unknown` rather than guessed. A line typed at a password-like prompt is
// never reported (`masked`), so no rule, log or audit entry ever sees it. An `unknown` line still
// carries `keys`: the keys as a cooked-mode tty would take them (erase, kill, word erase, literal
// next; every other byte kept as it is). With echo off (`stty -echo` at dash, `set +o emacs`)
// the screen shows nothing of the line and the tty runs exactly this, so it must pass the gate too.
// Used only when gate rules are configured; the pass-through path never builds one.
import { InputMasker } from '../../recorder/input-masker.js';

export type TypedLine =
  | { kind: 'line'; text: string; enterAt: number }
  | { kind: 'unknown'; enterAt: number; keys: string }
  | { kind: 'masked'; enterAt: number };

const MAX_LINE = 4096;

export class TypedLines {
  private readonly masker = new InputMasker();
  private line: number[] = [];
  /** The cooked-mode reading (see above). */
  private raw: number[] = [];
  private literalNext = false;
  private uncertain = false;
  private masked = false;
  private last: { line: number[]; raw: number[]; uncertain: boolean; masked: boolean } | null = null;

  output(bytes: Buffer): void {
    this.masker.output(bytes.toString('latin1'));
  }

  /** The Enters in this input chunk, in order, with the line each one submits. */
  input(bytes: Buffer): TypedLine[] {
    const out: TypedLine[] = [];
    // The masker decides per chunk whether this input is typed at a password prompt.
    if (this.masker.input(bytes.toString('latin1')).masked) this.masked = true;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (this.literalNext) {
        this.literalNext = false;
        this.uncertain = true;
        if (this.raw.length < MAX_LINE) this.raw.push(b);
        continue;
      }
      // Every key the line gate holds as a submit (line-gate.ts SUBMITS): Enter, Ctrl-J, Ctrl-O, Ctrl-D.
      if (b === 0x0d || b === 0x0a || b === 0x0f || b === 0x04) {
        out.push(this.masked ? { kind: 'masked', enterAt: i }
          : this.uncertain ? { kind: 'unknown', enterAt: i, keys: Buffer.from(this.raw).toString('utf8') }
          : { kind: 'line', text: Buffer.from(this.line).toString('utf8'), enterAt: i });
        this.reset();
        continue;
      }
      this.cooked(b);
      if (b === 0x7f || b === 0x08) {
        // Backspace: drop one character, including all bytes of a multi-byte one.
        while (this.line.length > 0 && ((this.line.pop() ?? 0) & 0xc0) === 0x80) { /* continuation byte */ }
      } else if (b === 0x15 || b === 0x03) {
        this.line = [];
        this.uncertain = false;
      } else if (b === 0x1b || b === 0x09 || b < 0x20) {
        this.uncertain = true;
      } else if (this.line.length < MAX_LINE) {
        this.line.push(b);
      } else {
        this.uncertain = true;
      }
    }
    return out;
  }

  /** The last Enter did not reach the target (the gate dropped it unread): its line is still being typed. */
  again(): void {
    if (this.last === null || this.last.masked) return;
    this.line = this.last.line;
    this.raw = this.last.raw;
    this.uncertain = this.last.uncertain;
    this.last = null;
  }

  /** The tty's own line editing (ICANON): what a shell without readline receives. */
  private cooked(b: number): void {
    if (b === 0x7f || b === 0x08) {
      while (this.raw.length > 0 && ((this.raw.pop() ?? 0) & 0xc0) === 0x80) { /* continuation byte */ }
    } else if (b === 0x15 || b === 0x03) {
      this.raw = [];
    } else if (b === 0x17) {
      while (this.raw.length > 0 && (this.raw.at(-1) === 0x20 || this.raw.at(-1) === 0x09)) this.raw.pop();
      while (this.raw.length > 0 && this.raw.at(-1) !== 0x20 && this.raw.at(-1) !== 0x09) this.raw.pop();
    } else if (b === 0x16) {
      this.literalNext = true;
    } else if (this.raw.length < MAX_LINE) {
      this.raw.push(b);
    }
  }

  private reset(): void {
    this.last = { line: this.line, raw: this.raw, uncertain: this.uncertain, masked: this.masked };
    this.line = [];
    this.raw = [];
    this.literalNext = false;
    this.uncertain = false;
    this.masked = false;
  }
}
