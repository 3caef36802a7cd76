// The keys side of a submitted line (line-gate.ts reads the screen side): fed the terminal's input
// and output bytes; for each Enter in an input chunk it says where the Enter is and what was
// typed. It can tell only for plain typing with backspace and Ctrl-U: after an escape sequence
// (arrow keys, history) or a tab (completion) the shell's idea of the line is unknown, and the
// line is reported as `unknown` rather than guessed. A line typed at a password-like prompt is
// never reported (`masked`), so no rule, log or audit entry ever sees it.
// Used only when gate rules are configured; the pass-through path never builds one.
import { InputMasker } from '../../recorder/input-masker.js';

export type TypedLine =
  | { kind: 'line'; text: string; enterAt: number }
  | { kind: 'unknown'; enterAt: number }
  | { kind: 'masked'; enterAt: number };

const MAX_LINE = 4096;

export class TypedLines {
  private readonly masker = new InputMasker();
  private line: number[] = [];
  private uncertain = false;
  private masked = false;

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
      if (b === 0x0d || b === 0x0a) {
        out.push(this.masked ? { kind: 'masked', enterAt: i }
          : this.uncertain ? { kind: 'unknown', enterAt: i }
          : { kind: 'line', text: Buffer.from(this.line).toString('utf8'), enterAt: i });
        this.reset();
      } else if (b === 0x7f || b === 0x08) {
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

  private reset(): void {
    this.line = [];
    this.uncertain = false;
    this.masked = false;
  }
}
