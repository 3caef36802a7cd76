// The nodes act as one: this node's membership (membership.ts), the search for lost peers
// (node-sweeper.ts), session control and login failures across nodes (session-relay.ts), the
// cluster-wide session list and remote kill (cluster-sessions.ts), and once-per-cluster claims
// for timer-driven work. With SQLite there is one node and every piece still runs (it only ever
// hears itself), so one code path serves both stores.
// Serve starts it before anything reads or ends sessions; app.close stops it (a clean leave).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AccessEvents } from '../access/events.js';
import type { AuditLog } from '../audit/audit-log.js';
import { LOG, type Logger } from '../log/logger.js';
import type { LiveSessions } from '../session/live-sessions.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { DeadlineScheduler } from '../util/deadline-scheduler.js';
import type { EventBus } from '../util/event-bus.js';
import type { ClusterBus } from './bus.js';
import { ClusterSessions } from './cluster-sessions.js';
import { Membership } from './membership.js';
import { NodeSweeper } from './node-sweeper.js';
import { SessionRelay, type ThrottlePort } from './session-relay.js';

export interface ClusterDeps {
  store: Store;
  audit: AuditLog;
  clock: Clock;
  scheduler: DeadlineScheduler;
  log: Logger;
  events: EventBus<AccessEvents>;
  bus: ClusterBus;
  live: LiveSessions;
  throttle: ThrottlePort;
  /** The pipeline's recheck of every running session. */
  recheckAll(): Promise<void>;
  /** The pipeline's end of every running session, logging in or relaying. */
  endAll(reason: 'node-lost'): void;
  node: string;
  heartbeatMs: number;
  lostAfterMs: number;
}

export class Cluster {
  readonly membership: Membership;
  readonly sweeper: NodeSweeper;
  readonly relay: SessionRelay;
  readonly sessions: ClusterSessions;
  private started = false;

  constructor(private readonly d: ClusterDeps) {
    this.membership = new Membership({
      nodes: d.store.nodes, clock: d.clock, scheduler: d.scheduler, log: d.log, node: d.node, version: packageVersion(),
      heartbeatMs: d.heartbeatMs, lostAfterMs: d.lostAfterMs,
      // The peers found us lost and ended our sessions' records: end the sessions themselves.
      // Sessions still logging in too (the pipeline's), then anything registered by other means.
      fenced: () => {
        d.endAll('node-lost');
        d.live.closeAll('node-lost');
      },
    });
    this.sweeper = new NodeSweeper({
      store: d.store, audit: d.audit, clock: d.clock, scheduler: d.scheduler, log: d.log, events: d.events, bus: d.bus,
      node: d.node, heartbeatMs: d.heartbeatMs, lostAfterMs: d.lostAfterMs,
    });
    this.relay = new SessionRelay({ bus: d.bus, events: d.events, live: d.live, grants: d.store.grants, throttle: d.throttle, log: d.log, recheckAll: () => d.recheckAll() });
    this.relay.attach();
    this.sessions = new ClusterSessions(d.store, d.live, d.bus, d.node);
  }

  /** Joins (refused with a clear error while a live node holds the name), listens, sweeps. */
  async start(): Promise<void> {
    if (this.started) return;
    await this.membership.join();
    this.started = true;
    await this.d.bus.start();
    this.sweeper.start();
  }

  /** A clean leave: the name is free at once and no peer reports this node lost. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.sweeper.stop();
    await this.membership.leave();
  }

  /** True for exactly one node per key: timer-driven work that alerts or audits runs once per cluster. */
  claim(key: string): Promise<boolean> {
    return this.d.store.claims.claim(key, this.d.node, this.d.clock.now()).then((won) => {
      // At debug level each node's log shows it competed, and whether it did the work (keys name a
      // grant, a target or an interval, never a secret).
      this.d.log.debug({ key, won }, LOG.clusterClaimed);
      return won;
    }, (err: unknown) => {
      // Without the store the work itself cannot be done either; the next run claims again.
      this.d.log.warn({ key, err: err instanceof Error ? err.message : String(err) }, LOG.clusterClaimFailed);
      return false;
    });
  }
}

let version: string | null = null;

/** The running build's version (package.json next to gateway/ or dist/), for the node's row. */
export function packageVersion(): string {
  if (version !== null) return version;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (typeof p.version === 'string') return (version = p.version);
    } catch {
      // Not here: one level up.
    }
    dir = dirname(dir);
  }
  return (version = 'unknown');
}
