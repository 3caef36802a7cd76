// PostgreSQL cancels across nodes. psql sends its Ctrl-C as a new connection, and a TCP load
// balancer may hand that connection to another node than the session's. The node that does not
// know the key publishes `pg.cancel` with the key's SHA-256 (postgres/cancel-keys.ts: the key
// itself never goes into a NOTIFY payload, which anyone who can LISTEN on the store could read);
// every node looks the hash up among its own sessions and the owner forwards the cancel.
// Rate limits, because a cancel connection costs an outsider nothing before TLS and each relayed
// one is a NOTIFY on the shared database: per client address and for the whole node on the
// sending side, and per key hash on the receiving side (a replayed message must not turn into a
// stream of cancels against one session). What is over a limit is dropped, as an unknown key is.
import { KeyedRate } from '../access/failure-budget.js';
import { LOG, type Logger } from '../log/logger.js';
import type { CancelKeys, CancelRelay } from '../postgres/cancel-keys.js';
import type { Clock } from '../util/clock.js';
import type { ClusterBus } from './bus.js';

export const CANCEL_LIMITS = {
  /** Relayed cancels one client address may cause per second, and at once. */
  perAddress: { rate: 2, burst: 10 },
  /** Relayed cancels this node publishes per second, all addresses together, and at once. */
  node: { rate: 50, burst: 100 },
  /** Cancels forwarded for one key hash per second, and at once (receiving side). */
  perKey: { rate: 2, burst: 5 },
} as const;

/** The relay the PostgreSQL listener's CancelKeys publish through. */
export function busCancelRelay(bus: ClusterBus, clock: Clock, log: Logger): CancelRelay {
  const address = new KeyedRate(clock, CANCEL_LIMITS.perAddress.rate, CANCEL_LIMITS.perAddress.burst, 10_000);
  const node = new KeyedRate(clock, CANCEL_LIMITS.node.rate, CANCEL_LIMITS.node.burst, 1);
  return {
    publish: (hash, from) => {
      if (!address.take(from) || !node.take('all')) {
        log.info({ addr: from }, LOG.pgCancelRelayLimited);
        return false;
      }
      bus.publish({ t: 'pg.cancel', key: hash }).catch((err: unknown) =>
        log.warn({ reason: err instanceof Error ? err.message : String(err) }, LOG.pgCancelRelayFailed));
      return true;
    },
  };
}

/** Forwards cancels other nodes relay when the key is one of this node's sessions'. */
export function receiveCancels(bus: ClusterBus, keys: CancelKeys, clock: Clock, log: Logger): void {
  const perKey = new KeyedRate(clock, CANCEL_LIMITS.perKey.rate, CANCEL_LIMITS.perKey.burst, 10_000);
  bus.on('pg.cancel', (m, from) => {
    if (!keys.knows(m.key)) return;
    if (!perKey.take(m.key)) return log.info({ from }, LOG.pgCancelRelayLimited);
    if (keys.forwardHashed(m.key)) log.info({ from }, LOG.pgCancelRelayForwarded);
  });
}
