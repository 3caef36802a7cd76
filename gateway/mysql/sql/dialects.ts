// The ways a MySQL/MariaDB server can read the same statement bytes, as far as token boundaries go.
// Three session settings move boundaries: sql_mode NO_BACKSLASH_ESCAPES (a backslash no longer
// escapes a quote), ANSI_QUOTES ("..." is an identifier, where backslashes never escape), and a
// client character set whose two-byte characters may end in 0x5C `\` or 0x60 `` ` `` (big5, gbk,
// gb18030, sjis, cp932: a lead byte swallows the next backslash or backtick). The gateway does not
// know the session's settings (a statement, a variable or a routine can change them), so the KILL
// scanner reads every statement under each dialect here. Does not lex: lexer.ts does.

export interface Dialect {
  readonly name: string;
  /** The double-byte character set this reading assumes, if any. */
  readonly mb: string | null;
  /** A backslash escapes the next byte inside '...' (and inside "..." when that is a string). */
  readonly backslash: boolean;
  /** "..." is a quoted identifier (ANSI_QUOTES), not a string. */
  readonly ansiQuotes: boolean;
  /** Length of the character starting at `i` (1, or 2 for a double-byte character). */
  charLen(text: Buffer, i: number): number;
}

type Range = readonly [number, number];
const within = (b: number | undefined, ranges: readonly Range[]): boolean =>
  b !== undefined && ranges.some(([lo, hi]) => b >= lo && b <= hi);

/** Double-byte character sets whose trail bytes include ASCII (0x40-0x7E): lead and trail ranges. */
const MB: Record<string, { lead: readonly Range[]; trail: readonly Range[] }> = {
  // gb18030's four-byte form has ASCII digits as 2nd and 4th bytes: no quote, backslash or backtick.
  gbk: { lead: [[0x81, 0xfe]], trail: [[0x40, 0x7e], [0x80, 0xfe]] },
  big5: { lead: [[0xa1, 0xf9]], trail: [[0x40, 0x7e], [0xa1, 0xfe]] },
  sjis: { lead: [[0x81, 0x9f], [0xe0, 0xfc]], trail: [[0x40, 0x7e], [0x80, 0xfc]] },
};

const single = (): number => 1;

function dialect(name: string, backslash: boolean, ansiQuotes: boolean, mb: string | null): Dialect {
  const cs = mb ? MB[mb] : undefined;
  const charLen = cs
    ? (t: Buffer, i: number): number => (within(t[i], cs.lead) && within(t[i + 1], cs.trail) ? 2 : 1)
    : single;
  return { name: mb ? `${name}+${mb}` : name, mb, backslash, ansiQuotes, charLen };
}

/** Every reading. Without backslash escapes ANSI_QUOTES moves no boundary (only "..." changes kind). */
export const DIALECTS: readonly Dialect[] = [null, 'gbk', 'big5', 'sjis'].flatMap((mb) => [
  dialect('default', true, false, mb),
  dialect('ansi-quotes', true, true, mb),
  dialect('no-backslash-escapes', false, false, mb),
]);

/**
 * The readings that can differ for this text, so that ASCII text without a backslash is lexed
 * once, not twelve times. Backslash settings matter only where there is a backslash. A double-byte
 * set matters only where one of its characters would end in an ASCII byte (a backslash, backtick or
 * letter swallowed), found by pairing bytes from the start as its lexer does; a backslash before a
 * non-ASCII byte can shift that pairing inside a string, so then the set is read too. Callers must
 * treat a "..." string and a "..." identifier alike, since only the first reading may be kept.
 */
export function dialectsFor(text: Buffer): readonly Dialect[] {
  const backslash = text.includes(0x5c);
  const high = hasHigh(text);
  const shifted = high && backslash && backslashBeforeHigh(text);
  const mbNeeded = new Map<string, boolean>();
  const needs = (d: Dialect): boolean => {
    const known = mbNeeded.get(d.mb!);
    if (known !== undefined) return known;
    const v = shifted || pairsSwallowAscii(text, d);
    mbNeeded.set(d.mb!, v);
    return v;
  };
  return DIALECTS.filter((d) => {
    if (!backslash && (d.ansiQuotes || !d.backslash)) return false;
    return d.mb === null || (high && needs(d));
  });
}

function hasHigh(text: Buffer): boolean {
  for (let i = 0; i < text.length; i++) if (text[i]! >= 0x80) return true;
  return false;
}

function pairsSwallowAscii(text: Buffer, d: Dialect): boolean {
  for (let i = 0; i < text.length;) {
    if (text[i]! < 0x80) { i++; continue; }
    const n = d.charLen(text, i);
    if (n > 1 && text[i + 1]! < 0x80) return true;
    i += n;
  }
  return false;
}

function backslashBeforeHigh(text: Buffer): boolean {
  for (let i = text.indexOf(0x5c); i >= 0 && i + 1 < text.length; i = text.indexOf(0x5c, i + 1)) {
    if (text[i + 1]! >= 0x80) return true;
  }
  return false;
}
