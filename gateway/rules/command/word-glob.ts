// Shell glob of one word: `*` (any run), `?` (one character), `[...]` (a set, `!` or `^` negates,
// ranges like `a-z`). Works on code points; never builds a regex from the pattern (a pattern with
// many stars is matched in O(pattern × word) by the classic two-pointer backtrack, no blow-up).

export function hasGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

export function globMatch(pattern: string, word: string): boolean {
  const p = [...pattern];
  const w = [...word];
  let pi = 0;
  let wi = 0;
  let starP = -1;
  let starW = 0;
  while (wi < w.length) {
    const pc = p[pi];
    if (pc === '*') { starP = pi++; starW = wi; continue; }
    if (pc !== undefined) {
      if (pc === '?') { pi++; wi++; continue; }
      if (pc === '[') {
        const set = readSet(p, pi);
        if (set && set.has(w[wi]!)) { pi = set.end; wi++; continue; }
        if (!set && w[wi] === '[') { pi++; wi++; continue; }
      } else if (pc === w[wi]) { pi++; wi++; continue; }
    }
    if (starP < 0) return false;
    pi = starP + 1;
    wi = ++starW;
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}

interface CharSet { has(c: string): boolean; end: number }

/** The bracket expression at p[at] (a '['); null when unterminated (then '[' is literal). */
function readSet(p: readonly string[], at: number): CharSet | null {
  let i = at + 1;
  const negate = p[i] === '!' || p[i] === '^';
  if (negate) i++;
  const items: Array<[string, string]> = [];
  let first = true;
  while (i < p.length && (p[i] !== ']' || first)) {
    const a = p[i]!;
    if (p[i + 1] === '-' && p[i + 2] !== undefined && p[i + 2] !== ']') { items.push([a, p[i + 2]!]); i += 3; } else { items.push([a, a]); i++; }
    first = false;
  }
  if (i >= p.length) return null;
  return { end: i + 1, has: (c) => items.some(([lo, hi]) => c >= lo && c <= hi) !== negate };
}
