// Lines a shell reads from its stdin without a terminal pass the gate before they reach it:
// `echo 'rm -rf /x' | ssh host`, `ssh host bash -s < script`, `ssh -T host` then typed lines. No
// terminal means no echo and no line editing: the bytes are the code, so each line (up to its
// newline, the unit a shell reads and runs) is checked as sent, and also without NULs (bash drops
// them from its input: `r\0m` runs `rm`), joined with the lines before it when the shell would
// continue them (trailing backslash, open quote). An allowed line goes on at once; a denied one
// never reaches the target: the rest of the input is dropped, the user is told on stderr and the
// target's stdin is closed, so the shell ends after the lines that did pass. A line longer than
// MAX_PENDING without a newline is checked as it is (unparsable: deny rules refuse it).
// Used only when the session's gate is not pass-through. Recording is the caller's (tap first).
import { MAX_LINE } from '../rules/command/command-line.js';
import type { GateCommand, GateVerdict } from './gate.js';

const MAX_PENDING = MAX_LINE + 1;

export interface StdinGateIO {
  forward(bytes: Buffer): void;
  say(text: string): void;
  /** No more input for the target (EOF on its stdin). */
  end(): void;
  check(cmd: GateCommand): GateVerdict;
}

export class StdinLineGate {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The command so far while the shell waits for the rest of it (open quote, trailing backslash). */
  private continued: string | null = null;
  private stopped = false;

  constructor(private readonly io: StdinGateIO) {}

  input(bytes: Buffer): void {
    if (this.stopped) return;
    const passed: Buffer[] = [];
    let from = 0;
    for (;;) {
      const nl = bytes.indexOf(0x0a, from);
      if (nl < 0) break;
      const part = bytes.subarray(from, nl + 1);
      from = nl + 1;
      const line = this.pendingBytes === 0 ? part : Buffer.concat([...this.pending, part]);
      this.pending = [];
      this.pendingBytes = 0;
      if (!this.allowed(line)) {
        if (passed.length > 0) this.io.forward(Buffer.concat(passed));
        this.deny();
        return;
      }
      passed.push(line);
    }
    // Whole lines that passed go on in one write; a line still open waits for its newline.
    if (passed.length > 0) this.io.forward(passed.length === 1 ? passed[0]! : Buffer.concat(passed));
    const rest = bytes.subarray(from);
    if (rest.length > 0) { this.pending.push(rest); this.pendingBytes += rest.length; }
    if (this.pendingBytes > MAX_PENDING) this.flushPending();
  }

  /** The client's EOF: a shell runs a last line without a newline too. */
  end(): void {
    if (this.stopped) return;
    if (this.pendingBytes > 0 && !this.flushPending()) return;
    this.stopped = true;
    this.io.end();
  }

  private flushPending(): boolean {
    const line = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.allowed(line)) { this.deny(); return false; }
    this.io.forward(line);
    return true;
  }

  private allowed(line: Buffer): boolean {
    const text = line.toString('utf8').replace(/\r?\n$/, '');
    const joined = this.continued === null ? text : this.backslash ? this.continued.slice(0, -1) + text : `${this.continued}\n${text}`;
    // Nothing runs while the shell waits for the rest of a command (open quote, trailing
    // backslash): the whole is checked once it is complete. The quote state is carried from line
    // to line, never rescanned (a long open quote must not cost a parse per line). Past MAX_LINE
    // the whole is kept too long on purpose: it reads as unparsable, which deny rules refuse.
    if (this.scan(text)) {
      this.continued = joined.length > MAX_LINE ? joined.slice(0, MAX_LINE + 1) : joined;
      return true;
    }
    this.continued = null;
    const readings = new Set([joined, joined.replace(/\0/g, '')]);
    for (const t of readings) {
      if (t.trim() === '') continue;
      const v = this.io.check({ kind: 'line', text: t });
      if (v.verdict === 'deny') { this.message = v.message; return false; }
    }
    return true;
  }

  /** Whether the shell wants more after this line: an open quote (state kept across lines) or a trailing backslash. */
  private scan(text: string): boolean {
    let escaped = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (escaped) { escaped = false; continue; }
      if (c === '\\' && !this.single) { escaped = true; continue; }
      if (c === "'" && !this.double) this.single = !this.single;
      else if (c === '"' && !this.single) this.double = !this.double;
    }
    this.backslash = escaped && !this.single && !this.double;
    return escaped || this.single || this.double;
  }

  private single = false;
  private double = false;
  private backslash = false;

  private message = '';

  private deny(): void {
    this.stopped = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.io.say(this.message);
    this.io.end();
  }
}
