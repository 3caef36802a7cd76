// The terminal layout of log lines: whatever a client put in a field reaches the operator's terminal
// escaped, never as a control sequence.
import { describe, expect, it } from 'vitest';
import { humanLine } from '../../gateway/log/human.js';

const line = (rec: Record<string, unknown>): string => humanLine(JSON.stringify({ level: 30, time: '2026-12-01T12:00:01.000Z', msg: 'http.origin_refused', ...rec }));

describe('human log lines', () => {
  it('keep plain values bare and quote values with spaces', () => {
    expect(line({ addr: '127.0.0.1', reason: 'foreign origin' })).toBe('12:00:01 info  http.origin_refused addr=127.0.0.1 reason="foreign origin"');
  });

  it('escape ESC, C1 controls (CSI U+009B) and bidi marks in values, keys and the message', () => {
    const out = line({ origin: '\u001b]2;pwned\u0007', host: 'a\u009b2J', why: 'x y\u009b31m', ['k\u001b']: 1, n: { s: '\u202e' } });
    // eslint-disable-next-line no-control-regex -- the point is that none of these reach the terminal
    expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(out).toContain('origin="\\u001b]2;pwned\\u0007"');
    expect(out).toContain('host="a\\u009b2J"');
    expect(out).toContain('why="x y\\u009b31m"');
    expect(out).toContain('n={"s":"\\u202e"}');
  });
});
