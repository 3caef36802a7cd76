// What the PostgreSQL provisioner writes into SQL and what it sends instead of a password: quoted
// identifiers and escape-string literals that keep any text one token (a real server runs them in
// the e2e tests), names PostgreSQL would change refused, random passwords as 43 base64url
// characters, and SCRAM-SHA-256 verifiers that accept the password and nothing else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseScramVerifier, scramMatches } from '../../gateway/access/scram-verifier.js';
import { randomPassword, scramVerifierOf } from '../../gateway/postgres/scram-secret.js';
import { quoteIdent, quoteLiteral, SqlTextError } from '../../gateway/postgres/sql-text.js';

/** Reads back one double-quoted identifier as PostgreSQL's scanner would, or null if it is not exactly one. */
function unquoteIdent(q: string): string | null {
  const m = /^"((?:[^"]|"")*)"$/.exec(q);
  return m ? m[1]!.replaceAll('""', '"') : null;
}

/** Reads back one escape-string literal (only \\\\ and '' appear in what quoteLiteral writes), or null. */
function unquoteLiteral(q: string): string | null {
  const m = /^E'((?:[^'\\]|''|\\\\)*)'$/.exec(q);
  return m ? m[1]!.replace(/''|\\\\/g, (s) => s[0]!) : null;
}

describe('SQL text for the PostgreSQL provisioner', () => {
  it('quotes any identifier without NUL as exactly one identifier with the same text', () => {
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 63 }).filter((s) => !s.includes('\0') && Buffer.byteLength(s) <= 63), (s) => {
      expect(unquoteIdent(quoteIdent(s))).toBe(s);
    }));
    expect(quoteIdent('x"; DROP ROLE postgres; --')).toBe('"x""; DROP ROLE postgres; --"');
  });

  it('quotes any text without NUL as exactly one literal with the same text, whatever standard_conforming_strings says', () => {
    fc.assert(fc.property(fc.string().filter((s) => !s.includes('\0')), (s) => {
      expect(unquoteLiteral(quoteLiteral(s))).toBe(s);
    }));
    expect(quoteLiteral("a'\\'; DROP ROLE postgres; --")).toBe("E'a''\\\\''; DROP ROLE postgres; --'");
  });

  it('refuses names PostgreSQL would change: empty, with a NUL, or over 63 bytes (counted in UTF-8)', () => {
    expect(() => quoteIdent('')).toThrow(SqlTextError);
    expect(() => quoteIdent('a\0b')).toThrow(/NUL/);
    expect(() => quoteLiteral('a\0b')).toThrow(/NUL/);
    expect(quoteIdent('r'.repeat(63))).toHaveLength(65);
    expect(() => quoteIdent('r'.repeat(64))).toThrow(/longer than 63 bytes/);
    expect(() => quoteIdent('é'.repeat(32))).toThrow(/longer than 63 bytes/);
  });
});

describe('Secrets of the PostgreSQL provisioner', () => {
  it('makes 43 base64url characters carrying 32 random bytes, different every time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = randomPassword().toString('latin1');
      expect(p).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(p, 'base64url')).toHaveLength(32);
      expect(Buffer.from(Buffer.from(p, 'base64url')).toString('base64url')).toBe(p);
      seen.add(p);
    }
    expect(seen.size).toBe(200);
  });

  it('makes a PostgreSQL SCRAM-SHA-256 verifier that accepts the password and not another, with a fresh salt each time', async () => {
    const pw = randomPassword();
    const v = await scramVerifierOf(pw);
    expect(v).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
    expect(v).not.toContain(pw.toString('latin1'));
    expect(await scramMatches(pw.toString('latin1'), v)).toBe(true);
    expect(await scramMatches('not-the-password', v)).toBe(false);
    expect(parseScramVerifier(await scramVerifierOf(pw))!.salt.equals(parseScramVerifier(v)!.salt)).toBe(false);
  });
});
