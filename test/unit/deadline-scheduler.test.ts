import { describe, expect, it } from 'vitest';
import { DeadlineScheduler } from '../../gateway/util/deadline-scheduler.js';
import { FakeClock } from '../support/fake-clock.js';

describe('the deadline scheduler', () => {
  it('fires deadlines in time order with one armed timer', () => {
    const clock = new FakeClock(0);
    const s = new DeadlineScheduler(clock);
    const fired: string[] = [];
    s.set('b', 200, () => fired.push('b'));
    s.set('a', 100, () => fired.push('a'));
    s.set('c', 300, () => fired.push('c'));
    expect(clock.pendingTimers).toBe(1);
    clock.advance(250);
    expect(fired).toEqual(['a', 'b']);
    clock.advance(100);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(s.size).toBe(0);
  });

  it('replaces a key and forgets deleted keys', () => {
    const clock = new FakeClock(0);
    const s = new DeadlineScheduler(clock);
    const fired: string[] = [];
    s.set('k', 100, () => fired.push('first'));
    s.set('k', 500, () => fired.push('second'));
    s.set('gone', 50, () => fired.push('gone'));
    s.delete('gone');
    clock.advance(400);
    expect(fired).toEqual([]);
    clock.advance(100);
    expect(fired).toEqual(['second']);
  });

  it('keeps firing the others when one callback throws', () => {
    const clock = new FakeClock(0);
    const errors: string[] = [];
    const s = new DeadlineScheduler(clock, (key) => errors.push(key));
    const fired: string[] = [];
    s.set('bad', 10, () => { throw new Error('boom'); });
    s.set('good', 10, () => fired.push('good'));
    clock.advance(10);
    expect(errors).toEqual(['bad']);
    expect(fired).toEqual(['good']);
  });

  it('lets a callback schedule a new deadline', () => {
    const clock = new FakeClock(0);
    const s = new DeadlineScheduler(clock);
    const fired: number[] = [];
    s.set('x', 10, () => { fired.push(clock.now()); s.set('y', 20, () => fired.push(clock.now())); });
    clock.advance(30);
    expect(fired).toEqual([10, 20]);
  });
});
