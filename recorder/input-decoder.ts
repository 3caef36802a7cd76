// Streaming UTF-8 decoding of input that loses no byte: valid UTF-8 becomes its characters (a
// character split across reads is never broken), and every byte that is not part of valid UTF-8
// becomes the lone surrogate U+DC00 + byte (Python's "surrogateescape"; JSON writes it as \udcXX).
// `inputBytes` turns such text back into the exact bytes. Input is what executes (`ssh host
// 'gunzip | sh' < script.gz`): decoding it lossily (U+FFFD) would keep the command out of the record.
import { isUtf8 } from 'node:buffer';

const EMPTY = Buffer.alloc(0);

/** Length of the UTF-8 sequence at `i` if it is valid and whole; 0 if invalid; -1 if it may continue past the end. */
function sequenceAt(b: Buffer, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) { n = 3; if (c === 0xe0) lo = 0xa0; if (c === 0xed) hi = 0x9f; }
  else if (c >= 0xf0 && c <= 0xf4) { n = 4; if (c === 0xf0) lo = 0x90; if (c === 0xf4) hi = 0x8f; }
  else return 0;
  for (let k = 1; k < n; k++) {
    if (i + k >= b.length) return -1;
    const d = b[i + k]!;
    if (d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return 0;
  }
  return n;
}

export class ByteExactDecoder {
  private pending: Buffer = EMPTY;

  write(chunk: Buffer): string {
    const b = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = EMPTY;
    return this.decode(b, false);
  }

  end(): string {
    const b = this.pending;
    this.pending = EMPTY;
    return this.decode(b, true);
  }

  private decode(b: Buffer, final: boolean): string {
    if (b.length === 0) return '';
    let out = '';
    let run = 0; // start of the current run of valid UTF-8
    let i = 0;
    // Fast path: a chunk that is valid UTF-8 as a whole (the usual case).
    if (isUtf8(b)) return b.toString('utf8');
    while (i < b.length) {
      const n = sequenceAt(b, i);
      if (n > 0) { i += n; continue; }
      if (n < 0 && !final) {
        this.pending = Buffer.from(b.subarray(i));
        break;
      }
      out += b.toString('utf8', run, i) + String.fromCharCode(0xdc00 + b[i]!);
      i++;
      run = i;
    }
    return out + b.toString('utf8', run, i);
  }
}

/** The exact bytes of text a ByteExactDecoder made. */
export function inputBytes(text: string): Buffer {
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xdc80 || c > 0xdcff) continue;
    // A low surrogate after a high one is half of a real character, not an escaped byte.
    if (i > 0 && text.charCodeAt(i - 1) >= 0xd800 && text.charCodeAt(i - 1) <= 0xdbff) continue;
    parts.push(Buffer.from(text.slice(run, i), 'utf8'), Buffer.of(c - 0xdc00));
    run = i + 1;
  }
  parts.push(Buffer.from(text.slice(run), 'utf8'));
  return Buffer.concat(parts);
}
