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

export interface MaskedSpan {
  span: number;
  /** When the span started (its marker, or its first piece). */
  t: number;
  pieces: SealedPiece[];
}

export interface MaskedSpans {
  spans: MaskedSpan[];
  /** Sealed-input events that could not be read (not counted in any span). */
  unreadable: number;
}

/** Every masked span of a cast, in order. Spans recorded with keystrokes off have no pieces. */
export async function readMaskedSpans(castPath: string): Promise<MaskedSpans> {
  const { entries } = await openCast(castPath);
  const spans: MaskedSpan[] = [];
  const byNumber = new Map<number, MaskedSpan>();
  let unreadable = 0;
  for await (const { event } of entries) {
    if (!event) continue;
    const [t, code, data] = event;
    if (code === 'm' && data === MASKED_MARKER) {
      const s: MaskedSpan = { span: spans.length + 1, t, pieces: [] };
      spans.push(s);
      byNumber.set(s.span, s);
    } else if (code === SEALED_INPUT) {
      const p = parseSealedEvent(t, data);
      // A piece belongs to the span it names, and that span's marker came before it.
      const s = p ? byNumber.get(p.span) : undefined;
      if (p && s) s.pieces.push(p);
      else unreadable++;
    }
  }
  return { spans, unreadable };
}

/** The span a viewer means by "the masked input at T": the last one that started by then. */
export function spanAt(spans: readonly MaskedSpan[], at: number): MaskedSpan | undefined {
  // Markers and the player round times; a millisecond of slack keeps a click on a marker exact.
  let found: MaskedSpan | undefined;
  for (const s of spans) if (s.t <= at + 0.001) found = s;
  return found;
}

export interface OpenedSpan {
  text: string;
  /** Bytes of plaintext in the span (all pieces). */
  bytes: number;
  /** Pieces missing from the numbering (a recording cut short, or lines removed). */
  missing: number[];
  /** True when `text` stops at the reveal limit. */
  truncated: boolean;
}

/**
 * Opens every piece of a span with its position as AAD; rejects if any piece fails authentication
 * (a moved, altered or foreign piece is never shown as if it were this span's). `limit` caps the
 * text returned, not what is checked.
 */
export async function openSpan(opener: SpanOpener, session: string, channel: number, span: MaskedSpan, limit: number): Promise<OpenedSpan> {
  const parts: Buffer[] = [];
  let bytes = 0;
  const seen = new Set<number>();
  for (const p of span.pieces) {
    if (seen.has(p.piece)) throw new Error(`piece ${p.piece} of span ${span.span} appears twice`);
    seen.add(p.piece);
    const plain = await opener.open(p.token, spanAad({ session, channel, span: span.span, piece: p.piece, t: p.t }));
    bytes += plain.length;
    parts.push(plain);
  }
  const missing: number[] = [];
  let last = -1;
  for (const n of seen) last = Math.max(last, n);
  for (let i = 0; i <= last && missing.length < 1000; i++) if (!seen.has(i)) missing.push(i);
  const all = Buffer.concat(parts);
  const truncated = all.length > limit;
  const text = (truncated ? all.subarray(0, limit) : all).toString('utf8');
  all.fill(0);
  for (const p of parts) p.fill(0);
  return { text, bytes, missing, truncated };
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
