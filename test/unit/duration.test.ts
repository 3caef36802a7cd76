import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../gateway/util/duration.js';

describe('durations', () => {
  it('parses the documented forms and combinations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration(' 5S ')).toBe(5_000);
  });

  it.each(['30x', '', 'm', '1.5h', '-5m', '0s', '10', 'h1', '1h 30m', '99999999999d'])('rejects "%s" with bad-duration', (text) => {
    expect(() => parseDuration(text)).toThrowError(expect.objectContaining({ code: 'bad-duration' }) as Error);
  });

  it('formats back into the same notation', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(86_400_000 + 1000)).toBe('1d1s');
  });
});
