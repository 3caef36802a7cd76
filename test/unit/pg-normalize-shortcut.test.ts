// normalizePg returns a text unlexed when nothing in it could change: the shortcut must give what
// the lexer gives, for every text (random texts over the characters that matter, and known cases).
import { describe, expect, it } from 'vitest';
import { normalizePg, normalizePgLexed } from '../../gateway/rules/sql/pg-normalize.js';

describe('normalizePg shortcut', () => {
  it('gives what the lexer gives', () => {
    const alphabet = ['a', 'E', ' ', '  ', '\n', '\t', "'", '"', '$', '$$', '$x$', '-', '--', '/', '/*', '*/', '*', '\\', ';', '1'];
    let seed = 42;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    for (let i = 0; i < 20_000; i++) {
      let s = '';
      for (let k = rnd(12); k > 0; k--) s += alphabet[rnd(alphabet.length)]!;
      expect(normalizePg(s)).toBe(normalizePgLexed(s));
    }
    for (const s of ['SELECT abalance FROM pgbench_accounts WHERE aid = 42;', "SELECT 'a  b' -- x", 'SELECT 1 ', ' SELECT 1', 'SELECT/**/1', "SELECT E'\\'' || 'x'"]) {
      expect(normalizePg(s)).toBe(normalizePgLexed(s));
    }
  });
});
