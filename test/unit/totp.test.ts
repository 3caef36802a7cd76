import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, hotp, totpAt, verifyTotp } from '../../gateway/access/totp.js';

// RFC 6238 appendix B uses the ASCII secret "12345678901234567890" with SHA-1; its 8-digit codes
// end in the 6-digit codes we produce.
const RFC_SECRET = base32Encode(Buffer.from('12345678901234567890'));

describe('TOTP (RFC 6238)', () => {
  it.each([
    [59, '287082'], [1111111109, '081804'], [1111111111, '050471'], [1234567890, '005924'], [2000000000, '279037'],
  ])('matches the RFC test vector at T=%i', (t, code) => {
    expect(totpAt(RFC_SECRET, t * 1000)).toBe(code);
  });

  it('matches RFC 4226 HOTP vectors', () => {
    expect(hotp(Buffer.from('12345678901234567890'), 0)).toBe('755224');
    expect(hotp(Buffer.from('12345678901234567890'), 9)).toBe('520489');
  });

  it('accepts one step of drift and refuses a replayed step', () => {
    const now = 1_700_000_000_000;
    const prev = totpAt(RFC_SECRET, now - 30_000);
    const step = verifyTotp(RFC_SECRET, prev, now, 0);
    expect(step).toBe(Math.floor(now / 30_000) - 1);
    expect(verifyTotp(RFC_SECRET, prev, now, step!)).toBeNull();
    expect(verifyTotp(RFC_SECRET, totpAt(RFC_SECRET, now - 90_000), now, 0)).toBeNull();
    expect(verifyTotp(RFC_SECRET, 'abcdef', now, 0)).toBeNull();
  });

  it('round-trips base32', () => {
    const b = Buffer.from([0, 1, 2, 250, 255, 7, 9]);
    expect(base32Decode(base32Encode(b))).toEqual(b);
  });
});
