// Lines submitted at an interactive prompt pass the gate before their Enter reaches the target.
// Keystrokes are forwarded as typed; an Enter (CR or LF) is HELD, with everything typed after it
// and the client's input paused, until the headless terminal (terminal-screen.ts) has drawn the
// target's answer to what was typed: output seen since the last forwarded keys and quiet for
// QUIET_MS, at most MAX_HOLD_MS. Then the line is read from the screen and checked (kind 'line'):
// the text after the prompt, the history-search match, the whole logical line, and the keys as
// typed when they were plain typing (screen and keys can disagree: `stty -echo`, or output that
// redraws the line). Allowed: the held bytes go on. Denied: the Enter is never sent, the rest of
// the held input is dropped (typed ahead for a line that did not run), the user is told why and
// the line is cleared with Ctrl-C (the one key that abandons a line in readline, zsh, cooked-mode
// tty input and most REPLs; unlike Ctrl-E Ctrl-U it does not leave the line in a kill ring).
// Never checked: a line typed at a password prompt as typed (a secret must not reach a rule; only
// what the screen shows of it), and any Enter on the alternate screen (full-screen programs).
// Used only when the session's gate is not pass-through. Recording is the caller's (tap first).
import type { GateCommand, GateVerdict } from './gate.js';
import { TerminalScreen } from './terminal-screen.js';
import { TypedLines, type TypedLine } from './typed-lines.js';

export const QUIET_MS = 40;
export const MAX_HOLD_MS = 300;
const POLL_MS = 10;
/** Longest run of continued lines (`r\` Enter `m -rf x`) kept to check with the next one. */
const MAX_CONTINUED = 16 * 1024;
const CTRL_C = Buffer.from([0x03]);
// Keys that can run the line: Enter (CR, and LF = Ctrl-J), bash's Ctrl-O (operate-and-get-next)
// and Ctrl-D (a cooked-mode shell such as dash runs a partial line it reads at EOF).
const SUBMITS = new Set([0x0d, 0x0a, 0x0f, 0x04]);

export interface LineGateIO {
  /** Input to the target (the caller respects backpressure). */
  forward(bytes: Buffer): void;
  /** Tells the user (the caller frames it as a terminal line or a notice). */
  say(text: string): void;
  /** Stop and restart reading the client while an Enter is held. */
  pause(): void;
  resume(): void;
  check(cmd: GateCommand): GateVerdict;
}

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(t: unknown): void;
}

const REAL_TIMERS: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
};

export class LineGate {
  private readonly screen: TerminalScreen;
  private readonly typed = new TypedLines();
  /** Non-null while an Enter is held: held[0] starts with it. */
  private held: Buffer[] | null = null;
  private lineStarted = false;
  private outputSinceForward = true;
  private lastOutputAt = 0;
  private lastForwardAt = 0;
  private holdStart = 0;
  private timer: unknown = null;
  private closed = false;
  private onIdle: (() => void) | null = null;
  /** An allowed line the shell would continue (trailing backslash, open quote): checked again joined with the next. */
  private continued = '';

  constructor(private readonly io: LineGateIO, cols: number, rows: number, private readonly timers: Timers = REAL_TIMERS) {
    this.screen = new TerminalScreen(cols, rows);
  }

  /** Whether an Enter is held (waiting for the screen, then the gate). */
  get holding(): boolean {
    return this.held !== null;
  }

  output(bytes: Buffer): void {
    if (this.closed) return;
    this.screen.output(bytes);
    this.typed.output(bytes);
    this.outputSinceForward = true;
    this.lastOutputAt = this.timers.now();
  }

  resize(cols: number, rows: number): void {
    if (!this.closed) this.screen.resize(cols, rows);
  }

  input(bytes: Buffer): void {
    if (this.closed) return;
    if (this.held) { this.held.push(bytes); return; }
    this.process(bytes);
  }

  /** Calls `fn` once no Enter is held (the client's EOF must not overtake its last line). */
  whenIdle(fn: () => void): void {
    if (this.held && !this.closed) this.onIdle = fn;
    else fn();
  }

  /** The session ended: drop what is held, free the terminal. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.held = null;
    this.screen.dispose();
  }

  private process(bytes: Buffer): void {
    const from = 0;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i]!;
      if (!this.lineStarted) {
        this.lineStarted = true;
        // Where the cursor is once the output received so far is drawn: the end of the prompt.
        this.screen.settled(() => { if (!this.closed) this.screen.markLineStart(); });
      }
      if (c === 0x03) { this.lineStarted = false; continue; }
      if (!SUBMITS.has(c)) continue;
      this.send(bytes.subarray(from, i));
      const typed = this.typed.input(bytes.subarray(from, i + 1)).at(-1) ?? { kind: 'unknown', enterAt: 0, keys: '' };
      this.held = [bytes.subarray(i)];
      this.io.pause();
      this.holdStart = this.timers.now();
      this.wait(typed);
      return;
    }
    this.typed.input(bytes.subarray(from));
    this.send(bytes.subarray(from));
  }

  private send(b: Buffer): void {
    if (b.length === 0) return;
    // Keys that only move the cursor may draw nothing (End at the end): no answer is waited for.
    if (!cursorOnly(b)) this.outputSinceForward = false;
    this.lastForwardAt = this.timers.now();
    this.io.forward(b);
  }

  /** Polls until the target's answer to the forwarded keys is drawn and quiet, or the bound. */
  private wait(typed: TypedLine): void {
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      if (this.closed) return;
      const now = this.timers.now();
      // Keys sent just before the Enter whose answer has not been drawn yet (an older key that
      // drew nothing, like End at the end of the line, is not waited for).
      const echoPending = !this.outputSinceForward && this.holdStart - this.lastForwardAt < MAX_HOLD_MS;
      const ready = !echoPending && now - this.lastOutputAt >= QUIET_MS;
      if (!ready && now - this.holdStart < MAX_HOLD_MS) { this.wait(typed); return; }
      // Keys went out whose effect never showed and the keys alone do not tell the line (arrows,
      // completion): the screen may be stale, so the line is not run on a guess; the user retries.
      if (echoPending && typed.kind === 'unknown') { this.unreadable(); return; }
      this.screen.settled(() => { if (!this.closed) this.decide(typed); });
    }, POLL_MS);
  }

  private decide(typed: TypedLine): void {
    const held = this.held ?? [];
    this.held = null;
    this.lineStarted = false;
    const verdict = this.screen.fullScreen ? null : this.verdict(typed);
    if (verdict?.verdict === 'deny') {
      this.continued = '';
      this.io.say(verdict.message);
      this.send(CTRL_C);
      this.idle();
      return;
    }
    const first = held[0];
    if (first) {
      this.send(first.subarray(0, 1));
      held[0] = first.subarray(1);
    }
    // What was typed after the Enter is input like any other (it may hold the next Enter).
    for (let k = 0; k < held.length; k++) {
      this.process(held[k]!);
      // process() may have held the next Enter (TypeScript does not see it set this.held).
      const again = this.held as Buffer[] | null;
      if (again) { again.push(...held.slice(k + 1)); return; }
    }
    this.idle();
  }

  /** The held Enter (and what followed) is dropped, the line left as it is: pressing Enter again reads it again. */
  private unreadable(): void {
    this.held = null;
    // The keys of this line stay unknown for the next Enter: with echo off the screen never shows
    // them, and a retried Enter must not read as an empty line.
    this.typed.again();
    this.io.say('the line could not be read from the terminal in time; press Enter again');
    this.idle();
  }

  private idle(): void {
    this.io.resume();
    const fn = this.onIdle;
    this.onIdle = null;
    fn?.();
  }

  /** First deny among the line's readings; else the first flag; null when all are allowed. */
  private verdict(typed: TypedLine): GateVerdict | null {
    const s = this.screen.readLine();
    const line = s.searched ?? s.afterSamePrompt ?? s.afterPrompt;
    // The shell joins a continued line with this one: `r\` then `m -rf x` runs `rm -rf x`.
    const joined = this.continued === '' ? null : this.continued.endsWith('\\') ? this.continued.slice(0, -1) + line : `${this.continued}\n${line}`;
    this.continued = continues(joined ?? line) ? (joined ?? line).slice(-MAX_CONTINUED) : '';
    const texts = [joined, s.searched, s.afterPrompt, s.afterSamePrompt, s.whole, typed.kind === 'line' ? typed.text : null, typed.kind === 'unknown' ? typed.keys : null];
    let flagged: GateVerdict | null = null;
    const seen = new Set<string>();
    for (const t of texts) {
      if (t === null || t.trim() === '' || seen.has(t)) continue;
      seen.add(t);
      const v = this.io.check({ kind: 'line', text: t });
      if (v.verdict === 'deny') return v;
      if (v.verdict === 'flag') flagged ??= v;
    }
    return flagged;
  }
}

/** Whether a shell would ask for more after this line: a trailing backslash or an open quote (a quick count, not a parse). */
function continues(text: string): boolean {
  if (text.endsWith('\\')) return true;
  let single = false;
  let double = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && !single) { i++; continue; }
    if (c === "'" && !double) single = !single;
    else if (c === '"' && !single) double = !double;
  }
  return single || double;
}

// Cursor moves: arrows left/right, Home/End in their CSI, SS3 and tilde forms, Ctrl-A/B/E/F.
// eslint-disable-next-line no-control-regex -- terminal key sequences are the point
const CURSOR_KEYS = /\x1b\[[CDHF]|\x1bO[CDHF]|\x1b\[[14]~|[\x01\x02\x05\x06]/g;

function cursorOnly(b: Buffer): boolean {
  return b.toString('latin1').replace(CURSOR_KEYS, '') === '';
}
