// asciicast v2 recording of a channel without a terminal (an SSH shell or exec without a pty:
// `ssh -T host`, `ssh host bash < script.sh`, `ssh host sh -s`, `ssh host cmd` with stdin). There is
// no echo, so what the client sent is the only record of the commands: it is written whole as "i"
// events. The command's stdout is "o" and its stderr "e" (our code: asciinema plays "o" only; our
// player and `portcullis play` render all three, see cast-display.ts). Each stream has its own
// streaming UTF-8 decoder. Input loses no byte (input-decoder.ts: a byte that is not UTF-8 is kept
// as U+DC00 + byte, so `gunzip | sh` fed a gzip is in the record); in output invalid bytes become
// U+FFFD (byte counts and SHA-256 of the exact bytes are in the channel's `exec` event).
// Limits are the session's (PipeBudget, shared by its channels): input past the input cap is
// refused (input() answers false; the caller must not forward it, and the session is ended by
// whoever owns the budget's callback), output past the output cap (counted as stored) is no longer
// written and a marker says so. It does not mask input (see README: a pipe has no prompt to mask after).
import { StringDecoder } from 'node:string_decoder';
import type { FileSink } from './file-sink.js';
import { ByteExactDecoder } from './input-decoder.js';
import type { PipeTap } from './taps.js';

/** Size a pipe transcript is rendered at: wide enough for most command output. */
export const PIPE_CAST_SIZE = { width: 120, height: 40 } as const;

export interface PipeCastHeader {
  timestamp: number;
  command?: string;
  portcullis: Record<string, unknown>;
}

/**
 * The session's pipe limits, across all of its pipe channels: input in bytes as sent on the wire
 * (the record holds all of them), output in bytes of the cast lines that hold it (what it costs).
 */
export class PipeBudget {
  private input = 0;
  private output = 0;
  private refused = false;

  constructor(readonly inputCap: number, readonly outputCap: number, private readonly onInputCap: (detail: string) => void) {}

  /** Counts `n` input bytes; false when they would pass the cap (then call refuse). */
  takeInput(n: number): boolean {
    if (this.refused || this.input + n > this.inputCap) return false;
    this.input += n;
    return true;
  }

  /** Input was refused: the owner ends the session (called once per session). */
  refuse(n: number): void {
    if (this.refused) return;
    this.refused = true;
    this.onInputCap(`input to a command without a terminal passed the cap of ${this.inputCap} bytes (${this.input} recorded, ${n} more refused)`);
  }

  /** Whether `n` more bytes of output events fit in the casts; counts them when so. */
  takeOutput(n: number): boolean {
    if (this.output + n > this.outputCap) {
      this.output = this.outputCap;
      return false;
    }
    this.output += n;
    return true;
  }

  get inputBytes(): number { return this.input; }
  get outputBytes(): number { return this.output; }
}

export class PipeCastWriter implements Omit<PipeTap, 'channel'> {
  private readonly inp = new ByteExactDecoder();
  private readonly out = new StringDecoder('utf8');
  private readonly err = new StringDecoder('utf8');
  private readonly start: number;
  private outputStopped = false;
  private ended = false;

  constructor(
    private readonly sink: FileSink,
    header: PipeCastHeader,
    private readonly now: () => number,
    private readonly budget: PipeBudget,
    /** The policy's keystroke switch: off, input is neither written nor counted (only its digest is kept). */
    private readonly recordInput: boolean,
    private readonly onEvent: (e: [number, string, string]) => void = () => {},
  ) {
    this.start = now();
    sink.write(JSON.stringify({ version: 2, ...PIPE_CAST_SIZE, ...header, portcullis: { ...header.portcullis, pty: false } }) + '\n');
  }

  private event(code: string, data: string, output = false, metered = true): void {
    if (this.ended || data.length === 0) return;
    const t = Number(Math.max(0, (this.now() - this.start) / 1000).toFixed(6));
    const line = `[${t.toFixed(6)},${JSON.stringify(code)},${JSON.stringify(data)}]\n`;
    // Output is counted as stored: a NUL byte is 6 bytes of JSON, so binary output cannot make a
    // cast (and the sink's memory) six times the cap.
    if (output && !this.budget.takeOutput(Buffer.byteLength(line))) {
      this.outputStopped = true;
      this.event('m', `output not recorded past ${this.budget.outputCap} bytes (byte counts and SHA-256 in events.ndjson)`);
      return;
    }
    this.sink.write(line, metered);
    this.onEvent([t, code, data]);
  }

  input(bytes: Buffer): boolean {
    if (this.ended) return false;
    if (!this.recordInput) return true;
    if (!this.budget.takeInput(bytes.length)) {
      // Said in this channel's record before the session's end is (the cut marker follows).
      this.event('m', `input refused: ${bytes.length} bytes over the ${this.budget.inputCap}-byte cap`);
      this.budget.refuse(bytes.length);
      return false;
    }
    this.event('i', this.inp.write(bytes));
    return true;
  }

  stdout(bytes: Buffer): void {
    if (!this.outputStopped) this.event('o', this.out.write(bytes), true);
  }

  stderr(bytes: Buffer): void {
    if (!this.outputStopped) this.event('e', this.err.write(bytes), true);
  }

  /** `metered: false` only for the line that says why the recording stopped (past its budget). */
  marker(label: string, metered = true): void {
    this.event('m', label, false, metered);
  }

  end(): void {
    if (this.ended) return;
    this.event('i', this.inp.end());
    if (!this.outputStopped) this.event('o', this.out.end(), true);
    if (!this.outputStopped) this.event('e', this.err.end(), true);
    this.ended = true;
  }
}
