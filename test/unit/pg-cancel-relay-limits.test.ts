// The limits on relayed PostgreSQL cancels (gateway/cluster/pg-cancels.ts), with a fake clock: a
// client address cannot turn cancel connections into a flood of NOTIFYs on the shared store, nor
// can a replayed message turn into a stream of cancels against one session.
import { describe, expect, it } from 'vitest';
import { ClusterBus, type ClusterMessage } from '../../gateway/cluster/bus.js';
import { busCancelRelay, CANCEL_LIMITS, receiveCancels } from '../../gateway/cluster/pg-cancels.js';
import { createLogger } from '../../gateway/log/logger.js';
import { CancelKeys, cancelHash } from '../../gateway/postgres/cancel-keys.js';
import type { StoreNotifications } from '../../gateway/store/store.js';
import { FakeClock } from '../support/fake-clock.js';

const log = createLogger('silent');

function bus(): { bus: ClusterBus; sent: ClusterMessage[]; deliver: (m: ClusterMessage) => void } {
  const sent: ClusterMessage[] = [];
  let listener: (p: string) => void = () => {};
  const notifications: StoreNotifications = {
    publish: (p) => { sent.push((JSON.parse(p) as { m: ClusterMessage }).m); return Promise.resolve(); },
    listen: (fn) => { listener = fn; return Promise.resolve(() => Promise.resolve()); },
  };
  const b = new ClusterBus(notifications, 'self', { dropped: () => {}, handlerFailed: () => {} });
  return { bus: b, sent, deliver: (m) => listener(JSON.stringify({ from: 'other', m })) };
}

describe('relayed PostgreSQL cancels', () => {
  it('publishes at most a burst per client address, then the address\'s rate', () => {
    const clock = new FakeClock();
    const { bus: b, sent } = bus();
    const keys = new CancelKeys(busCancelRelay(b, clock, log));
    const outcomes = Array.from({ length: 30 }, (_, i) => keys.forward(i + 1, Buffer.from([1, 2, 3, 4]), '203.0.113.9'));
    expect(outcomes.filter((o) => o === 'relayed')).toHaveLength(CANCEL_LIMITS.perAddress.burst);
    expect(outcomes.slice(CANCEL_LIMITS.perAddress.burst).every((o) => o === 'unknown')).toBe(true);
    // Another address has its own budget; time refills the first one's.
    expect(keys.forward(99, Buffer.from([1, 2, 3, 4]), '198.51.100.1')).toBe('relayed');
    clock.advance(1000);
    expect(keys.forward(100, Buffer.from([1, 2, 3, 4]), '203.0.113.9')).toBe('relayed');
    expect(sent.every((m) => m.t === 'pg.cancel' && /^[0-9a-f]{64}$/.test(m.key))).toBe(true);
  });

  it('ignores hashes of keys it does not hold, and limits replays of one it does', async () => {
    const clock = new FakeClock();
    const { bus: b, deliver } = bus();
    await b.start();
    const keys = new CancelKeys();
    let forwarded = 0;
    // Counted, not sent: the target is never reached.
    keys.forwardHashed = (h) => { if (keys.knows(h)) forwarded++; return false; };
    receiveCancels(b, keys, clock, log);
    const target = { host: '127.0.0.1', port: 1 } as Parameters<CancelKeys['issue']>[0];
    const { pid, key } = keys.issue(target, 4242, Buffer.from([9, 9, 9, 9]));
    deliver({ t: 'pg.cancel', key: 'a'.repeat(64) });
    for (let i = 0; i < 20; i++) deliver({ t: 'pg.cancel', key: cancelHash(pid, key) });
    expect(forwarded).toBe(CANCEL_LIMITS.perKey.burst);
  });
});
