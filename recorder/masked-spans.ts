// Sealed masked input: the format of what a terminal recording keeps of keystrokes typed at a
// password-like prompt. Viewers see `*` (the "i" event); the bytes themselves are kept encrypted in
// an extra event right after it, `[t, "s", "SPAN:PIECE:TOKEN"]`, which players that do not know the
// code skip. The token is opaque here: a SpanSealer (the gateway's recording key, AEAD) makes it and
// a SpanOpener reads it. The associated data binds each piece to its session, channel, span, piece
// number and time, so a piece copied into another session, channel, span or moment does not open.
// This module defines the format, the AAD, and reading spans back out of a cast; it holds no key
// and decides nothing about who may reveal (gateway/session/masked-reveal.ts does).
import { openCast } from './asciicast-reader.js';

/** The asciicast event code of a sealed piece of masked input. */
export const SEALED_INPUT = 's';
/** The marker written where a masked span starts (also read by search indexing and the player). */
export const MASKED_MARKER = 'masked input';

/** Encrypts one piece of masked input under the gateway's recording key. Throws when it cannot. */
export interface SpanSealer {
  seal(plain: Buffer, aad: string): string;
}

/** Decrypts a token a SpanSealer made with the same AAD; rejects on a wrong key, AAD or tampering. */
export interface SpanOpener {
  open(token: string, aad: string): Promise<Buffer>;
}

export interface PiecePosition {
  session: string;
  channel: number;
  /** Masked spans of the channel, from 1 in order. */
  span: number;
  /** Pieces (input chunks) of the span, from 0. */
  piece: number;
  /** The event time exactly as written (seconds, 6 decimals). */
  t: number;
}

/** The associated data of one sealed piece. */
export function spanAad(p: PiecePosition): string {
  return `portcullis:masked-input:v1|session=${p.session}|channel=${p.channel}|span=${p.span}|piece=${p.piece}|t=${p.t.toFixed(6)}`;
}

/** The data of a sealed-input event. */
export function sealedEventData(span: number, piece: number, token: string): string {
  return `${span}:${piece}:${token}`;
}

const DATA = /^(\d{1,9}):(\d{1,9}):([A-Za-z0-9._-]{1,2000000})$/;

export interface SealedPiece { span: number; piece: number; t: number; token: string }

/** A sealed-input event's data, or null when it is not one (a reader skips it and says so). */
export function parseSealedEvent(t: number, data: string): SealedPiece | null {
  const m = DATA.exec(data);
  return m ? { span: Number(m[1]), piece: Number(m[2]), t, token: m[3]! } : null;
}

export interface SpanStart {
  span: number;
  /** When the span started (its marker). */
  t: number;
}

export interface MaskedSpan extends SpanStart {
  pieces: SealedPiece[];
}

export interface MaskedSpans {
  spans: MaskedSpan[];
  /** Sealed-input events that could not be read (not counted in any span). */
  unreadable: number;
}

/**
 * Streams a cast's masked spans in file order: `onSpan` at each span's marker, `onPiece` (awaited)
 * for each sealed piece. A piece must name a span whose marker came before it; any other, and any
 * malformed one, is counted as unreadable and never passed on. Holds one line at a time, so a
 * recording with a million spans or a gigabyte of masked input costs no more memory than a short one.
 */
export async function scanMaskedSpans(
  castPath: string, onSpan: (s: SpanStart) => void, onPiece: (p: SealedPiece) => Promise<void> | void = () => {},
): Promise<{ spans: number; unreadable: number }> {
  const { entries } = await openCast(castPath);
  let spans = 0;
  let unreadable = 0;
  for await (const { event } of entries) {
    if (!event) continue;
    const [t, code, data] = event;
    if (code === 'm' && data === MASKED_MARKER) onSpan({ span: ++spans, t });
    else if (code === SEALED_INPUT) {
      const p = parseSealedEvent(t, data);
      if (p && p.span >= 1 && p.span <= spans) await onPiece(p);
      else unreadable++;
    }
  }
  return { spans, unreadable };
}

/** Every masked span of a cast with its pieces, in memory: for short recordings and tests. */
export async function readMaskedSpans(castPath: string): Promise<MaskedSpans> {
  const spans: MaskedSpan[] = [];
  const { unreadable } = await scanMaskedSpans(castPath, (s) => { spans.push({ ...s, pieces: [] }); }, (p) => { spans[p.span - 1]!.pieces.push(p); });
  return { spans, unreadable };
}

/** Whether a span that started at `t` counts as started by `at` (a millisecond of slack: markers and the player round times). */
export function startedBy(t: number, at: number): boolean {
  return t <= at + 0.001;
}

/** The span a viewer means by "the masked input at T": the last one that started by then. */
export function spanAt<S extends SpanStart>(spans: readonly S[], at: number): S | undefined {
  let found: S | undefined;
  for (const s of spans) if (startedBy(s.t, at)) found = s;
  return found;
}

export interface OpenedSpan {
  text: string;
  /** Bytes of plaintext in the span (all pieces). */
  bytes: number;
  /** Pieces opened. */
  pieces: number;
  /** Pieces missing from the numbering (a recording cut short, or lines removed); at most 1,000 listed. */
  missing: number[];
  /** True when `text` stops at the reveal limit. */
  truncated: boolean;
}

/**
 * Opens the pieces of one span as they come, each with its position as AAD; rejects if any piece
 * fails authentication (a moved, altered or foreign piece is never shown as if it were this
 * span's) or appears twice. Every piece is checked; only the first `limit` bytes of text are kept.
 */
export class SpanOpening {
  private readonly parts: Buffer[] = [];
  private kept = 0;
  private bytes = 0;
  private readonly seen = new Set<number>();

  constructor(
    private readonly opener: SpanOpener, private readonly session: string, private readonly channel: number,
    readonly span: number, private readonly limit: number,
  ) {}

  /** Opens `p` if it belongs to this span (others are ignored). */
  async add(p: SealedPiece): Promise<void> {
    if (p.span !== this.span) return;
    if (this.seen.has(p.piece)) throw new Error(`piece ${p.piece} of span ${p.span} appears twice`);
    this.seen.add(p.piece);
    const plain = await this.opener.open(p.token, spanAad({ session: this.session, channel: this.channel, span: p.span, piece: p.piece, t: p.t }));
    this.bytes += plain.length;
    if (this.kept < this.limit) {
      const take = Buffer.from(plain.subarray(0, this.limit - this.kept));
      this.parts.push(take);
      this.kept += take.length;
    }
    plain.fill(0);
  }

  get pieces(): number {
    return this.seen.size;
  }

  result(): OpenedSpan {
    const missing: number[] = [];
    let last = -1;
    for (const n of this.seen) last = Math.max(last, n);
    for (let i = 0; i <= last && missing.length < 1000; i++) if (!this.seen.has(i)) missing.push(i);
    const all = Buffer.concat(this.parts);
    const text = all.toString('utf8');
    all.fill(0);
    for (const part of this.parts) part.fill(0);
    return { text, bytes: this.bytes, pieces: this.seen.size, missing, truncated: this.bytes > this.kept };
  }
}

/** Opens a span held in memory (readMaskedSpans); see SpanOpening. */
export async function openSpan(opener: SpanOpener, session: string, channel: number, span: MaskedSpan, limit: number): Promise<OpenedSpan> {
  const o = new SpanOpening(opener, session, channel, span.span, limit);
  for (const p of span.pieces) await o.add(p);
  return o.result();
}

/**
 * Keystrokes as a person can read them, whatever they contain: control characters (escape
 * sequences, backspace, Enter) written as `\xNN`/`\r`/`\n` escapes, so text revealed to an
 * admin's terminal or page cannot rewrite what is shown (an `ESC[2K` erasing the command before
 * it), and a line break after each Enter. Backslashes are doubled so the escapes are unambiguous.
 */
export function visibleKeystrokes(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '\r') out += '\\r\n';
    else if (ch === '\n') out += '\\n\n';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0x200b && c <= 0x200f) || c === 0x2028 || c === 0x2029 || c === 0xfeff || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) {
      out += c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return out;
}
