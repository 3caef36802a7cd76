import { describe, expect, it } from 'vitest';
import { FailureBudget, KeyedRate } from '../../gateway/access/failure-budget.js';
import { addressKey, LoginThrottle } from '../../gateway/access/throttle.js';
import { FakeClock } from '../support/fake-clock.js';

const MIN = 60_000;

describe('login throttle budgets', () => {
  it('locks a name across addresses: rotating addresses does not give more guesses', () => {
    const clock = new FakeClock(0);
    const t = new LoginThrottle(clock, { accountFailures: 20 });
    const started = [];
    // 4 failures from each of 5 addresses: no pair lock (5), but the account's 20.
    for (let a = 1; a <= 5; a++) for (let i = 0; i < 4; i++) started.push(...t.fail('alice', `127.0.0.${a}`));
    expect(started).toEqual([{ scope: 'account', until: 10 * MIN }]);
    expect(t.check('alice', '127.0.0.99')).toEqual({ scope: 'account', until: 10 * MIN });
    expect(t.check('ALICE', '10.1.1.1')?.scope).toBe('account');
    // The account lock stops password guesses only; a key login is not a guess.
    expect(t.check('alice', '127.0.0.99', 'key')).toBeNull();
    expect(t.check('bob', '127.0.0.99')).toBeNull();
    clock.advance(10 * MIN);
    expect(t.check('alice', '127.0.0.99')).toBeNull();
  });

  it('locks an address across names: rotating names does not give more guesses', () => {
    const clock = new FakeClock(0);
    const t = new LoginThrottle(clock, { addressFailures: 50 });
    const started = [];
    for (let i = 0; i < 50; i++) started.push(...t.fail(`name-${i}`, '192.0.2.7'));
    expect(started).toEqual([{ scope: 'address', until: 10 * MIN }]);
    expect(t.check('somebody-new', '192.0.2.7')).toEqual({ scope: 'address', until: 10 * MIN });
    expect(t.check('somebody-new', '192.0.2.7', 'key')?.scope).toBe('address');
    expect(t.check('somebody-new', '192.0.2.8')).toBeNull();
  });

  it('treats names that do not exist exactly like names that do (the lock says nothing about existence)', () => {
    const clock = new FakeClock(0);
    const t = new LoginThrottle(clock);
    const run = (name: string): unknown[] => {
      const out = [];
      for (let a = 0; a < 25; a++) out.push(t.fail(name, `10.9.${name.length}.${a}`));
      return out;
    };
    expect(run('real-user')).toEqual(run('nobody-xyz'));
  });

  it('reports a lock once: failures while locked neither extend it nor report it again', () => {
    const clock = new FakeClock(0);
    const t = new LoginThrottle(clock);
    for (let i = 0; i < 4; i++) t.fail('ops', 'a');
    expect(t.fail('ops', 'a')).toHaveLength(1);
    clock.advance(MIN);
    for (let i = 0; i < 10; i++) expect(t.fail('ops', 'a')).toEqual([]);
    expect(t.check('ops', 'a')?.until).toBe(10 * MIN);
  });

  it('does not clear the account or address budget on success (a valid login would reset a guesser)', () => {
    const clock = new FakeClock(0);
    const t = new LoginThrottle(clock, { addressFailures: 10, pairFailures: 5 });
    for (let i = 0; i < 9; i++) t.fail(`victim-${i}`, '198.51.100.1');
    t.succeed('attacker', '198.51.100.1');
    expect(t.fail('victim-x', '198.51.100.1')).toEqual([{ scope: 'address', until: 10 * MIN }]);
  });

  it('counts failures over a sliding window: sustained guessing is held below the budget per window', () => {
    const clock = new FakeClock(0);
    const t = new LoginThrottle(clock, { accountFailures: 20 });
    // One failure every 35 s from fresh addresses (at most 18 in any 10 min): never locked.
    let locks = 0;
    for (let i = 0; i < 200; i++) {
      locks += t.fail('alice', `10.0.${i >> 8}.${i & 255}`).length;
      clock.advance(35_000);
    }
    expect(locks).toBe(0);
    // Twice that rate locks within the first window.
    let at = -1;
    for (let i = 0; i < 40 && at < 0; i++) {
      if (t.fail('bob', `10.1.0.${i}`).length > 0) at = i;
      clock.advance(15_000);
    }
    expect(at).toBe(19);
  });

  it('locks on the last failure of the budget however the failures are spread inside the window', () => {
    const clock = new FakeClock(0);
    const t = new LoginThrottle(clock, { accountFailures: 20 });
    // 20 failures over 8.5 minutes (a budget that drained over time would never lock on these).
    const locks = [];
    for (let i = 0; i < 20; i++) {
      locks.push(...t.fail('carol', `10.2.0.${i}`));
      if (i < 19) clock.advance(27_000);
    }
    expect(locks.map((l) => l.scope)).toEqual(['account']);
  });

  it('admits password hashes at the address rate, with a burst', () => {
    const clock = new FakeClock(0);
    const t = new LoginThrottle(clock, { addressHashRate: 10, addressHashBurst: 20 });
    let admitted = 0;
    for (let i = 0; i < 100; i++) if (t.admitHash('203.0.113.5')) admitted++;
    expect(admitted).toBe(20);
    expect(t.admitHash('203.0.113.6')).toBe(true);
    clock.advance(1000);
    admitted = 0;
    for (let i = 0; i < 100; i++) if (t.admitHash('203.0.113.5')) admitted++;
    expect(admitted).toBe(10);
  });

  it('keys IPv6 by its /64 and IPv4-mapped addresses as IPv4', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
    expect(addressKey('2001:0db8:0001:0002::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('::ffff:127.0.0.5')).toBe('127.0.0.5');
    const clock = new FakeClock(0);
    const t = new LoginThrottle(clock, { addressFailures: 5, pairFailures: 100 });
    for (let i = 0; i < 5; i++) t.fail(`n${i}`, `2001:db8::${i.toString(16)}:1`);
    expect(t.check('other', '2001:db8::beef')?.scope).toBe('address');
  });

  it('keeps memory bounded whatever the attacker rotates', () => {
    const clock = new FakeClock(0);
    const t = new LoginThrottle(clock, { maxKeys: 1000 });
    for (let i = 0; i < 20_000; i++) {
      t.fail(`name-${i}-${'x'.repeat(150)}`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
      t.admitHash(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    }
    expect(t.tracked).toBeLessThanOrEqual(4000);
  });
});

describe('failure budget and keyed rate', () => {
  it('drops the least recently touched key past its bound, never a fresh one', () => {
    const clock = new FakeClock(0);
    const b = new FailureBudget(clock, { failures: 2, windowMs: MIN, lockMs: MIN, maxKeys: 3 });
    b.fail('a');
    b.fail('b');
    b.fail('c');
    b.fail('a'); // a locks and becomes the youngest
    b.fail('d'); // b is dropped
    expect(b.size).toBe(3);
    expect(b.lockedFor('a')).toBe(MIN);
    expect(b.fail('b')).toBeNull(); // b starts again from nothing
  });

  it('refuses nonsense options', () => {
    const clock = new FakeClock(0);
    expect(() => new FailureBudget(clock, { failures: 0, windowMs: 1, lockMs: 1, maxKeys: 1 })).toThrow();
    expect(() => new KeyedRate(clock, 0, 1, 1)).toThrow();
  });
});
