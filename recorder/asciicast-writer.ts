// asciicast v2 writer: a header line, then [t, code, data] events ("o" output, "i" input,
// "r" resize "COLSxROWS", "m" marker), t in seconds since start. Output and input are decoded with
// streaming UTF-8 decoders, so a multi-byte character split across reads is never broken.
// Extra metadata goes in header keys players ignore.
import { StringDecoder } from 'node:string_decoder';
import type { FileSink } from './file-sink.js';
import { InputMasker } from './input-masker.js';

export interface CastHeader {
  width: number;
  height: number;
  timestamp: number;
  command?: string;
  title?: string;
  env?: Record<string, string>;
  /** Portcullis metadata; asciinema ignores unknown keys. */
  portcullis?: Record<string, unknown>;
}

export class AsciicastWriter {
  private readonly out = new StringDecoder('utf8');
  private readonly inp = new StringDecoder('utf8');
  private readonly masker = new InputMasker();
  private readonly start: number;

  constructor(
    private readonly sink: FileSink,
    header: CastHeader,
    private readonly now: () => number,
    private readonly keystrokes: boolean,
    /** Sees every event as it is written (live viewers). */
    private readonly onEvent: (e: [number, string, string]) => void = () => {},
  ) {
    this.start = now();
    sink.write(JSON.stringify({ version: 2, ...header }) + '\n');
  }

  private event(code: string, data: string, metered = true): void {
    const t = Number(Math.max(0, (this.now() - this.start) / 1000).toFixed(6));
    this.sink.write(`[${t.toFixed(6)},${JSON.stringify(code)},${JSON.stringify(data)}]\n`, metered);
    this.onEvent([t, code, data]);
  }

  output(bytes: Buffer): void {
    const text = this.out.write(bytes);
    if (text.length === 0) return;
    this.masker.output(text);
    this.event('o', text);
  }

  input(bytes: Buffer): void {
    const text = this.inp.write(bytes);
    if (text.length === 0) return;
    const m = this.masker.input(text);
    if (m.started) this.event('m', 'masked input');
    if (this.keystrokes) this.event('i', m.text);
  }

  resize(cols: number, rows: number): void {
    this.event('r', `${cols}x${rows}`);
  }

  /** `metered: false` only for the line that says why the recording stopped (past its budget). */
  marker(label: string, metered = true): void {
    this.event('m', label, metered);
  }

  end(): void {
    const rest = this.out.end();
    if (rest) this.event('o', rest);
  }
}
