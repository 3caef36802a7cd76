// The per-target lock between rotation and checkouts (provision/rotation-lock.ts), with a fake
// clock: one rotation at a time, checkouts wait for a rotation and rotations for logins in
// progress, both waits bounded; other targets are never held up.
import { describe, expect, it } from 'vitest';
import { TargetBusy, TargetLocks } from '../../gateway/provision/rotation-lock.js';
import { FakeClock } from '../support/fake-clock.js';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('target locks', () => {
  it('runs rotations of one target one at a time, in order; another target is not held', async () => {
    const locks = new TargetLocks(new FakeClock(), { checkout: 60_000, rotation: 60_000 });
    const order: string[] = [];
    let go!: () => void;
    const first = locks.exclusive('t1', 'web01', async () => { order.push('first:start'); await new Promise<void>((r) => { go = r; }); order.push('first:end'); });
    const second = locks.exclusive('t1', 'web01', () => { order.push('second'); return Promise.resolve(); });
    const other = locks.exclusive('t2', 'web02', () => { order.push('other'); return Promise.resolve(); });
    await other;
    await tick();
    expect(order).toEqual(['first:start', 'other']);
    go();
    await Promise.all([first, second]);
    expect(order).toEqual(['first:start', 'other', 'first:end', 'second']);
  });

  it('a checkout waits for a running rotation; a rotation waits for a login in progress', async () => {
    const locks = new TargetLocks(new FakeClock(), { checkout: 60_000, rotation: 60_000 });
    const release = await locks.enterLogin('t1', 'web01');
    let rotated = false;
    const rotation = locks.exclusive('t1', 'web01', () => { rotated = true; return Promise.resolve(); });
    await tick();
    expect(rotated).toBe(false);
    // A new checkout now waits behind the rotation (logins cannot starve it).
    let entered = false;
    const login2 = locks.enterLogin('t1', 'web01').then((r) => { entered = true; return r; });
    await tick();
    expect(entered).toBe(false);
    release();
    release(); // idempotent
    await rotation;
    expect(rotated).toBe(true);
    (await login2)();
    expect(entered).toBe(true);
  });

  it('both waits are bounded: a stuck rotation refuses checkouts after the wait, a login that never ends refuses the rotation', async () => {
    const clock = new FakeClock();
    const locks = new TargetLocks(clock, { checkout: 1000, rotation: 2000 });
    let go!: () => void;
    const stuck = locks.exclusive('t1', 'web01', () => new Promise<void>((r) => { go = r; }));
    await tick();
    const waiting = locks.enterLogin('t1', 'web01');
    clock.advance(1000);
    await expect(waiting).rejects.toThrow(/the credential of web01 is being rotated/);
    go();
    await stuck;
    const release = await locks.enterLogin('t1', 'web01');
    const rotation = locks.exclusive('t1', 'web01', () => Promise.resolve('done'));
    await tick();
    clock.advance(2000);
    await expect(rotation).rejects.toBeInstanceOf(TargetBusy);
    release();
    // Not left held: the next rotation runs.
    await expect(locks.exclusive('t1', 'web01', () => Promise.resolve('ok'))).resolves.toBe('ok');
    expect(locks.rotating('t1')).toBe(false);
  });
});
