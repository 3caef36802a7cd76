// asciicast v2 writer: a header line, then [t, code, data] events ("o" output, "i" input,
// "r" resize "COLSxROWS", "m" marker), t in seconds since start. Output and input are decoded with
// streaming UTF-8 decoders, so a multi-byte character split across reads is never broken.
// Extra metadata goes in header keys players ignore. Input typed at a password-like prompt is
// written as `*` for viewers and, right after, sealed as an "s" event (masked-spans.ts): masking
// hides it from viewers, never from the record.
import { StringDecoder } from 'node:string_decoder';
import { ByteExactDecoder, inputBytes } from './input-decoder.js';
import type { FileSink } from './file-sink.js';
import { InputMasker } from './input-masker.js';
import { MASKED_MARKER, SEALED_INPUT, sealedEventData, spanAad, type SpanSealer } from './masked-spans.js';

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

/** How this channel's masked input is sealed: the key, and the position the AAD binds it to. */
export interface MaskedInputSealing {
  sealer: SpanSealer;
  session: string;
  channel: number;
  /** Sealing failed: the piece is not in the record; the caller decides what that means. */
  onError(err: Error): void;
}

export class AsciicastWriter {
  private readonly out = new StringDecoder('utf8');
  // Input loses no byte (input-decoder.ts): `stty raw; gunzip | sh` fed a gzip stays in the record.
  private readonly inp = new ByteExactDecoder();
  private readonly masker = new InputMasker();
  private readonly start: number;
  private span = 0;
  private piece = 0;

  constructor(
    private readonly sink: FileSink,
    header: CastHeader,
    private readonly now: () => number,
    private readonly keystrokes: boolean,
    /** Sees every event as it is written (live viewers). */
    private readonly onEvent: (e: [number, string, string]) => void = () => {},
    /** Null only where no key exists (tests of other parts): masked input is then not kept. */
    private readonly sealing: MaskedInputSealing | null = null,
  ) {
    this.start = now();
    sink.write(JSON.stringify({ version: 2, ...header }) + '\n');
  }

  private event(code: string, data: string, metered = true): void {
    const t = Number(Math.max(0, (this.now() - this.start) / 1000).toFixed(6));
    this.sink.write(`[${t.toFixed(6)},${JSON.stringify(code)},${JSON.stringify(data)}]\n`, metered);
    this.onEvent([t, code, data]);
  }

  /** Seconds since start as written (6 decimals), as event() computes it; a sealed piece's AAD uses it. */
  private stamp(): number {
    return Number(Math.max(0, (this.now() - this.start) / 1000).toFixed(6));
  }

  /** An event at a time already taken: a masked input, its marker and its sealed piece share one. */
  private eventAt(t: number, code: string, data: string): void {
    this.sink.write(`[${t.toFixed(6)},${JSON.stringify(code)},${JSON.stringify(data)}]\n`);
    // Live viewers get what a player shows; the sealed bytes stay in the file.
    if (code !== SEALED_INPUT) this.onEvent([t, code, data]);
  }

  output(bytes: Buffer): void {
    const text = this.out.write(bytes);
    if (text.length === 0) return;
    this.masker.output(text);
    this.event('o', text);
  }

  input(bytes: Buffer): void {
    this.inputText(this.inp.write(bytes));
  }

  private inputText(text: string): void {
    if (text.length === 0) return;
    const m = this.masker.input(text);
    const t = this.stamp();
    if (m.started) {
      this.span++;
      this.piece = 0;
      this.eventAt(t, 'm', MASKED_MARKER);
    }
    if (!this.keystrokes) return;
    this.eventAt(t, 'i', m.text);
    if (m.secret) this.seal(m.secret, t);
  }

  private seal(secret: string, t: number): void {
    const s = this.sealing;
    if (!s) return;
    const plain = inputBytes(secret);
    try {
      const token = s.sealer.seal(plain, spanAad({ session: s.session, channel: s.channel, span: this.span, piece: this.piece, t }));
      this.eventAt(t, SEALED_INPUT, sealedEventData(this.span, this.piece, token));
      this.piece++;
    } catch (err) {
      s.onError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      plain.fill(0);
    }
  }

  resize(cols: number, rows: number): void {
    this.event('r', `${cols}x${rows}`);
  }

  /** `metered: false` only for the line that says why the recording stopped (past its budget). */
  marker(label: string, metered = true): void {
    this.event('m', label, metered);
  }

  end(): void {
    // An incomplete character at the very end is still input (kept as its bytes).
    this.inputText(this.inp.end());
    const rest = this.out.end();
    if (rest) this.event('o', rest);
  }
}
