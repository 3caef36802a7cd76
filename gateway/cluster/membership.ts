// This node's membership in the cluster: it takes its name in the store at serve start (refused
// while a live node holds it), beats every `cluster.heartbeatInterval`, and leaves on a clean stop.
// A heartbeat the store refuses means another node found this one lost (and already ended its
// sessions' records) or took its name: every local session is then cut with `node-lost` — their
// users were told they are gone, and nobody else would ever cut them — and the node joins again as
// a new incarnation. A heartbeat that fails because the store is unreachable changes nothing: the
// sessions keep their known deadlines (the peers cannot mark anyone lost without the store either).
// A node restarted on the same data dir right after a crash takes over its own dead predecessor at
// once (last-run.ts): the store row still says `up` with a recent heartbeat, but when its
// incarnation is the one this data dir's last run took and that process is certainly gone, it is
// marked lost now (only that incarnation, only if still up) and the name is taken; crash recovery
// at serve start then ends its orphaned sessions. Another live process with the name, on this data
// dir or elsewhere, is still refused.
// Times written to the store are the store's clock when it has one (NodeRepo.now): node clocks
// may differ, and the sweepers compare this node's heartbeat with their own idea of now.
// It does not find other nodes lost (node-sweeper.ts) or route messages (bus.ts).
import { randomUUID } from 'node:crypto';
import { LOG, type Logger } from '../log/logger.js';
import type { LastRunPort } from './last-run.js';
import type { NodeRepo } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { DeadlineScheduler } from '../util/deadline-scheduler.js';
import { PortcullisError } from '../util/errors.js';

const BEAT_KEY = 'cluster:heartbeat';

export interface MembershipDeps {
  nodes: NodeRepo;
  clock: Clock;
  scheduler: DeadlineScheduler;
  log: Logger;
  node: string;
  version: string;
  heartbeatMs: number;
  lostAfterMs: number;
  /** Ends every session brokered here with node-lost (the peers already ended their records). */
  fenced(): void;
  /** This data dir's record of its last run (absent: a restart waits until the old run is found lost). */
  lastRun?: LastRunPort;
}

/** Incarnations held by memberships in this process (several apps share one process in tests and tools). */
const heldHere = new Set<string>();

export class Membership {
  private current: string | null = null;
  private running = false;

  constructor(private readonly d: MembershipDeps) {}

  /** This run's incarnation while it holds the name. */
  get incarnation(): string | null {
    return this.current;
  }

  /** Takes the name, or refuses (a `conflict` error that says which node and how to go on); then beats. */
  async join(): Promise<void> {
    if (!(await this.take()) && !((await this.takeOverPredecessor()) && (await this.take()))) {
      const holder = await this.d.nodes.byName(this.d.node);
      const ago = holder ? Math.max(0, Math.round(((await this.now()) - holder.heartbeatAt) / 1000)) : 0;
      throw new PortcullisError('conflict', `node ${this.d.node} is already running (last heartbeat ${ago}s ago); pick another --node name or stop it`);
    }
    this.running = true;
    this.arm();
  }

  /** A clean stop: the name is free at once (no node-lost for a node that said goodbye). */
  async leave(): Promise<void> {
    this.running = false;
    this.d.scheduler.delete(BEAT_KEY);
    const inc = this.current;
    this.current = null;
    if (inc === null) return;
    heldHere.delete(inc);
    try {
      await this.d.nodes.leave(this.d.node, inc, await this.now());
      this.d.log.info({ node: this.d.node }, LOG.clusterLeft);
    } catch (err) {
      // The store is gone: the peers will find this node lost after nodeLostAfter; nothing runs here by then.
      this.d.log.warn({ node: this.d.node, err: errText(err) }, LOG.clusterHeartbeatFailed);
    }
  }

  /**
   * True when the live row is this data dir's own last run, dead: it is then marked lost (a
   * `staleBefore` in the future, so its recent heartbeat does not save it; conditional on that
   * incarnation, so a node that took the name meanwhile is untouched).
   */
  private async takeOverPredecessor(): Promise<boolean> {
    const last = this.d.lastRun?.read() ?? null;
    if (last === null || last.node !== this.d.node) return false;
    const holder = await this.d.nodes.byName(this.d.node);
    if (!holder || holder.state !== 'up' || holder.incarnation !== last.incarnation) return false;
    // Same pid as ours (a restarted container) is the dead one only if nothing in this process holds it.
    if (heldHere.has(last.incarnation) || this.d.lastRun?.mayBeRunning(last) !== false) return false;
    const now = await this.now();
    if (!(await this.d.nodes.markLost(this.d.node, last.incarnation, now + this.d.lostAfterMs, now))) return false;
    this.d.log.warn({ node: this.d.node, incarnation: last.incarnation, pid: last.pid, lastHeartbeat: new Date(holder.heartbeatAt).toISOString() }, LOG.clusterPredecessorLost);
    return true;
  }



  /** The store's clock, or this node's when the store has none. */
  private now(): Promise<number> {
    return this.d.nodes.now ? this.d.nodes.now() : Promise.resolve(this.d.clock.now());
  }

  private async take(): Promise<boolean> {
    const now = await this.now();
    const incarnation = randomUUID();
    const ok = await this.d.nodes.join(
      { name: this.d.node, incarnation, state: 'up', version: this.d.version, startedAt: now, heartbeatAt: now, endedAt: null },
      now - this.d.lostAfterMs,
    );
    if (!ok) return false;
    this.current = incarnation;
    heldHere.add(incarnation);
    try {
      this.d.lastRun?.write({ node: this.d.node, incarnation });
    } catch (err) {
      // Only a quick restart after a crash needs it: without it that restart waits for nodeLostAfter.
      this.d.log.warn({ node: this.d.node, err: errText(err) }, LOG.clusterLastRunUnwritten);
    }
    this.d.log.info({ node: this.d.node, incarnation, version: this.d.version }, LOG.clusterJoined);
    return true;
  }

  private arm(): void {
    if (!this.running) return;
    this.d.scheduler.set(BEAT_KEY, this.d.clock.now() + this.d.heartbeatMs, async () => {
      try {
        await this.beat();
      } finally {
        this.arm();
      }
    });
  }

  /** One heartbeat (the timer's work; tests call it). */
  async beat(): Promise<void> {
    if (!this.running) return;
    const inc = this.current;
    if (inc === null) return this.rejoin();
    let held: boolean;
    try {
      held = await this.d.nodes.heartbeat(this.d.node, inc, await this.now());
    } catch (err) {
      this.d.log.warn({ node: this.d.node, err: errText(err) }, LOG.clusterHeartbeatFailed);
      return;
    }
    if (held || !this.running) return;
    this.current = null;
    heldHere.delete(inc);
    this.d.log.error({ node: this.d.node, incarnation: inc }, LOG.clusterNodeFenced);
    this.d.fenced();
    await this.rejoin();
  }

  private async rejoin(): Promise<void> {
    try {
      if (!(await this.take())) this.d.log.error({ node: this.d.node, reason: 'a live node holds the name' }, LOG.clusterRejoinFailed);
    } catch (err) {
      this.d.log.error({ node: this.d.node, err: errText(err) }, LOG.clusterRejoinFailed);
    }
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
