// Finds lost nodes: every heartbeat interval, each node looks for peers still `up` whose last
// heartbeat is older than `cluster.nodeLostAfter`. Marking one lost is atomic in the store, so
// however many nodes race exactly one wins, and only the winner acts: in one transaction it marks
// the node lost, ends that node's live sessions (node-lost) and audits each end and a `node.lost`;
// then it forgets the node's MySQL connection ids, tells the other nodes, raises the alert (the
// webhook) and logs an error. If the winner dies mid-way the transaction rolls back and the node
// is still `up` and stale: the next sweep by anyone finds it again.
// Judged in the store's clock when it has one (NodeRepo.now), so a node whose clock runs ahead
// does not find healthy peers lost. And only by a node that has itself reached the store for the
// whole of `nodeLostAfter`: after a store outage every heartbeat is stale, and the first node back
// would otherwise mark all the others lost (and cut their sessions) before they could beat once.
// Also prunes old claims once a day (claims are keyed by their deadline; they only need to outlive
// the race between nodes for it). Decides nothing about sessions of live nodes.
import type { AccessEvents } from '../access/events.js';
import type { AuditLog } from '../audit/audit-log.js';
import { LOG, type Logger } from '../log/logger.js';
import type { NodeRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { DeadlineScheduler } from '../util/deadline-scheduler.js';
import type { EventBus } from '../util/event-bus.js';
import type { ClusterBus } from './bus.js';

const SWEEP_KEY = 'cluster:sweep';
const PRUNE_KEY = 'cluster:prune-claims';
const DAY_MS = 24 * 3600_000;
/** Claims older than this are forgotten: far longer than any two nodes could race for one. */
const CLAIM_KEEP_MS = 2 * DAY_MS;

export interface SweeperDeps {
  store: Pick<Store, 'nodes' | 'sessions' | 'users' | 'mysqlConnections' | 'claims' | 'transaction'>;
  audit: AuditLog;
  clock: Clock;
  scheduler: DeadlineScheduler;
  log: Logger;
  events: EventBus<AccessEvents>;
  bus: ClusterBus;
  /** This node's name: never swept by itself. */
  node: string;
  heartbeatMs: number;
  lostAfterMs: number;
}

export interface LostNode {
  node: string;
  sessions: string[];
}

export class NodeSweeper {
  private running = false;
  private sweeping: Promise<LostNode[]> | null = null;
  /** Since when every pass reached the store (store clock); null after a pass that did not. */
  private reachableSince: number | null = null;

  constructor(private readonly d: SweeperDeps) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.arm();
    this.d.scheduler.set(PRUNE_KEY, this.d.clock.now() + DAY_MS, () => this.prune());
  }

  stop(): void {
    this.running = false;
    this.d.scheduler.delete(SWEEP_KEY);
    this.d.scheduler.delete(PRUNE_KEY);
  }

  private arm(): void {
    if (!this.running) return;
    this.d.scheduler.set(SWEEP_KEY, this.d.clock.now() + this.d.heartbeatMs, async () => {
      try {
        await this.sweep();
      } finally {
        this.arm();
      }
    });
  }

  /** One pass (the timer's work; tests call it). Never throws; a pass under way is joined. */
  sweep(): Promise<LostNode[]> {
    this.sweeping ??= this.pass().finally(() => { this.sweeping = null; });
    return this.sweeping;
  }

  private async pass(): Promise<LostNode[]> {
    const { nodes: repo } = this.d.store;
    let now: number;
    let nodes: NodeRecord[];
    try {
      now = repo.now ? await repo.now() : this.d.clock.now();
      nodes = await repo.list();
    } catch (err) {
      // The store is unreachable: nobody can be judged lost now (nor can anyone judge us).
      this.reachableSince = null;
      this.d.log.warn({ err: errText(err) }, LOG.clusterSweepFailed);
      return [];
    }
    this.reachableSince ??= now;
    // Blind until lately: the peers' silence may have been the store's.
    if (now - this.reachableSince < this.d.lostAfterMs) return [];
    const staleBefore = now - this.d.lostAfterMs;
    const lost: LostNode[] = [];
    for (const n of nodes) {
      if (n.name === this.d.node || n.state !== 'up' || n.heartbeatAt >= staleBefore) continue;
      try {
        const ended = await this.takeOver(n, staleBefore, now);
        if (ended) lost.push(ended);
      } catch (err) {
        this.d.log.error({ node: n.name, err: errText(err) }, LOG.clusterSweepFailed);
      }
    }
    return lost;
  }

  /** Null when another node won the race (or the node beat again meanwhile). */
  private async takeOver(n: NodeRecord, staleBefore: number, now: number): Promise<LostNode | null> {
    const { store, audit } = this.d;
    const sessions = await store.transaction(async () => {
      if (!(await store.nodes.markLost(n.name, n.incarnation, staleBefore, now))) return null;
      const ids = await store.sessions.endForNode(n.name, now, 'node-lost');
      const names = new Map<string, string>();
      for (const id of ids) {
        // The actor of a session's end is its user, as for every other end.
        const s = await store.sessions.byId(id);
        const uid = s?.userId ?? null;
        let actor = 'system';
        if (uid !== null) {
          actor = names.get(uid) ?? (await store.users.byId(uid))?.name ?? 'system';
          names.set(uid, actor);
        }
        await audit.append('session.ended', actor, { session: id, reason: 'node-lost' });
      }
      await audit.append('node.lost', 'system', { node: n.name, by: this.d.node, sessions: ids.length, lastHeartbeat: n.heartbeatAt });
      return ids;
    });
    if (sessions === null) return null;
    // After commit: a KILL naming a lost node's connection id must find nothing.
    await store.mysqlConnections.removeForNode(n.name).catch((err: unknown) => this.d.log.warn({ node: n.name, err: errText(err) }, LOG.clusterSweepFailed));
    this.d.bus.publish({ t: 'node.lost', node: n.name }).catch((err: unknown) => this.d.log.warn({ err: errText(err), type: 'node.lost' }, LOG.clusterPublishFailed));
    const lastHeartbeat = new Date(n.heartbeatAt).toISOString();
    this.d.log.error({ node: n.name, sessions: sessions.length, lastHeartbeat, silentMs: now - n.heartbeatAt }, LOG.clusterNodeLost);
    this.d.events.emit('node.lost', { node: n.name, by: this.d.node, sessions: sessions.length, last_heartbeat: lastHeartbeat });
    return { node: n.name, sessions };
  }

  private async prune(): Promise<void> {
    try {
      await this.d.store.claims.prune(this.d.clock.now() - CLAIM_KEEP_MS);
    } catch (err) {
      this.d.log.warn({ err: errText(err) }, LOG.clusterClaimFailed);
    } finally {
      if (this.running) this.d.scheduler.set(PRUNE_KEY, this.d.clock.now() + DAY_MS, () => this.prune());
    }
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
