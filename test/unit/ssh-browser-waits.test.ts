// The cap on SSH connections waiting for a browser approval: per address and in total, each slot
// given back once (a second release of the same slot must not free another's).
import { describe, expect, it } from 'vitest';
import { BrowserWaits } from '../../gateway/ssh/browser-waits.js';

describe('browser-approval waits', () => {
  it('holds at most perAddr per address and total on the listener, and frees a slot once', () => {
    const w = new BrowserWaits(2, 3);
    const a1 = w.take('10.0.0.1');
    const a2 = w.take('10.0.0.1');
    expect(a1 && a2).toBeTruthy();
    expect(w.take('10.0.0.1')).toBeNull();
    const b1 = w.take('10.0.0.2');
    expect(b1).not.toBeNull();
    expect(w.take('10.0.0.3')).toBeNull();
    a1!();
    a1!();
    expect(w.take('10.0.0.3')).not.toBeNull();
    expect(w.take('10.0.0.4')).toBeNull();
    expect(w.take('10.0.0.1')).toBeNull();
    b1!();
    expect(w.take('10.0.0.1')).not.toBeNull();
  });
});
