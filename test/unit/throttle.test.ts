import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../gateway/access/throttle.js';
import { FakeClock } from '../support/fake-clock.js';

describe('login throttling', () => {
  it('locks a user and address for 10 minutes after 5 failures within 10 minutes', () => {
    const clock = new FakeClock(0);
    const t = new LoginThrottle(clock);
    for (let i = 0; i < 4; i++) expect(t.fail('ops', '10.0.0.1')).toEqual([]);
    expect(t.lockedFor('ops', '10.0.0.1')).toBe(0);
    expect(t.fail('ops', '10.0.0.1')).toEqual([{ scope: 'pair', until: clock.now() + 600_000 }]);
    expect(t.lockedFor('ops', '10.0.0.1')).toBe(600_000);
    expect(t.lockedFor('ops', '10.0.0.2')).toBe(0);
    expect(t.lockedFor('dba', '10.0.0.1')).toBe(0);
    clock.advance(600_000);
    expect(t.lockedFor('ops', '10.0.0.1')).toBe(0);
  });

  it('forgets failures older than the window', () => {
    const clock = new FakeClock(0);
    const t = new LoginThrottle(clock);
    for (let i = 0; i < 4; i++) t.fail('ops', 'a');
    clock.advance(600_001);
    expect(t.fail('ops', 'a')).toEqual([]);
  });

  it('clears the count on success', () => {
    const clock = new FakeClock(0);
    const t = new LoginThrottle(clock);
    for (let i = 0; i < 4; i++) t.fail('ops', 'a');
    t.succeed('ops', 'a');
    expect(t.fail('ops', 'a')).toEqual([]);
  });
});
