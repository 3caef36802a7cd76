// Session control across nodes. The access events that end or re-arm sessions on this node (a
// revoke for any cause — revoked, user disabled or removed, target or policy removed, policy
// narrowed —, an extension or a shortening, a user disabled, a target re-pointed) are published on
// the cluster bus; the other nodes apply them to their own LiveSessions directly. Never by
// re-emitting the access event: that would send the webhooks and write the audit a second time.
// Failed logins travel the same way, so every node's throttle counts them.
// Incoming messages are untrusted (anyone who can NOTIFY on the store's database can send one):
// reasons are checked against the termination reasons; anything that would keep a session alive
// longer (a later grant end) is read back from the store, never taken from the message; cutting is
// applied at once (fail closed: a forged cut costs a reconnect, a dropped one costs a revoke).
// The safety net for a message never received: when the bus listens again after a drop, every
// live session's grant is read again and every session rechecked at once; and the pipeline's
// periodic recheck (app.ts: 5 s at most with a shared store) catches the rest.
import type { AccessEvents } from '../access/events.js';
import { LOG, type Logger } from '../log/logger.js';
import { type LiveSessions, revokedReason } from '../session/live-sessions.js';
import type { TerminationReason } from '../session/termination.js';
import type { GrantRepo } from '../store/store.js';
import type { EventBus } from '../util/event-bus.js';
import type { ClusterBus, ClusterMessage } from './bus.js';

/** Every termination reason, checked by the compiler to be complete: an unknown reason is dropped. */
const REASONS: Record<TerminationReason, true> = {
  'closed-by-client': true, 'upstream-closed': true, 'grant-expired': true, 'window-closed': true, 'grant-revoked': true, 'breakglass-denied': true,
  'killed-by-admin': true, 'user-disabled': true, 'user-removed': true, 'target-removed': true, 'target-changed': true,
  'policy-removed': true, 'policy-narrowed': true, 'idle-timeout': true, 'recording-failed': true, 'recording-budget': true,
  'gateway-shutdown': true, 'gateway-crashed': true, 'protocol-error': true, 'upstream-failed': true, 'credential-failed': true,
  'max-session-length': true, 'adapter-error': true, 'input-cap-exceeded': true, 'statement-too-large': true, 'node-lost': true,
};

export function isTerminationReason(v: string): v is TerminationReason {
  return Object.prototype.hasOwnProperty.call(REASONS, v);
}

/** The part of the login throttle the relay feeds (access/throttle.ts). */
export interface ThrottlePort {
  onFailure(fn: (user: string, addr: string) => void): void;
  failElsewhere(user: string, addr: string): void;
}

export interface SessionRelayDeps {
  bus: ClusterBus;
  events: EventBus<AccessEvents>;
  live: LiveSessions;
  grants: Pick<GrantRepo, 'byId'>;
  throttle: ThrottlePort;
  log: Logger;
  /** Rechecks every running session against the store now (the pipeline's recheck). */
  recheckAll(): Promise<void>;
}

export class SessionRelay {
  private resyncing: Promise<void> | null = null;

  constructor(private readonly d: SessionRelayDeps) {}

  /** Subscribes both ways; call once, before the bus starts. */
  attach(): void {
    const { events, bus, live } = this.d;
    events.on('grant.revoked', ({ grant, cause }) => this.publish({ t: 'grant.revoked', grant: grant.id, reason: revokedReason(cause) }));
    events.on('grant.extended', ({ grant }) => this.publish({ t: 'grant.deadline', grant: grant.id, expiresAt: Date.parse(grant.expires_at) }));
    events.on('grant.shortened', ({ grant }) => this.publish({ t: 'grant.deadline', grant: grant.id, expiresAt: Date.parse(grant.expires_at) }));
    events.on('user.disabled', ({ user, removed }) => this.publish({ t: 'user.ended', user, reason: removed ? 'user-removed' : 'user-disabled' }));
    events.on('target.changed', ({ target }) => this.publish({ t: 'target.ended', target, reason: 'target-changed' }));
    this.d.throttle.onFailure((user, addr) => this.publish({ t: 'login.failed', user, addr }));

    bus.on('grant.revoked', (m) => { if (this.valid(m)) live.closeGrant(m.grant, m.reason); });
    bus.on('user.ended', (m) => { if (this.valid(m)) live.closeUser(m.user, m.reason); });
    bus.on('target.ended', (m) => { if (this.valid(m)) live.closeTarget(m.target, m.reason); });
    bus.on('session.kill', (m) => { if (this.valid(m)) live.close(m.session, m.reason); });
    bus.on('grant.deadline', (m) => { void this.deadline(m.grant, m.expiresAt); });
    bus.on('login.failed', (m) => this.d.throttle.failElsewhere(m.user, m.addr));
    // Messages may have been missed while the bus was not listening: reconcile at once.
    bus.onListening((up) => { if (up) void this.resync(); });
  }

  /**
   * Reads every live session's grant again and applies its current end (and cuts revoked ones),
   * then rechecks every session (user, target, policy). Joins a resync already under way.
   */
  resync(): Promise<void> {
    this.resyncing ??= this.resyncNow().finally(() => { this.resyncing = null; });
    return this.resyncing;
  }

  private async resyncNow(): Promise<void> {
    const grants = new Set(this.d.live.list().flatMap((s) => (s.grant ? [s.grant] : [])));
    if (grants.size === 0) return;
    this.d.log.info({ grants: grants.size }, LOG.clusterResync);
    for (const id of grants) await this.deadline(id, null);
    await this.d.recheckAll().catch((err: unknown) => this.d.log.warn({ err: errText(err) }, LOG.clusterHandlerFailed));
  }

  /**
   * A grant's end moved on another node. Its new end is the store's, not the message's: a forged
   * message must not keep a session past its grant. Without the store, only an earlier end is
   * believed (cutting sooner fails closed).
   */
  private async deadline(grantId: string, claimed: number | null): Promise<void> {
    const { live } = this.d;
    const current = live.list().find((s) => s.grant === grantId);
    if (!current) return;
    try {
      const g = await this.d.grants.byId(grantId);
      if (!g || g.revokedAt !== null) {
        live.closeGrant(grantId, 'grant-revoked');
        return;
      }
      if (g.expiresAt !== Date.parse(current.expires_at)) live.extendGrant(grantId, g.expiresAt);
    } catch (err) {
      this.d.log.warn({ grant: grantId, err: errText(err) }, LOG.clusterHandlerFailed);
      if (claimed !== null && claimed < Date.parse(current.expires_at)) live.extendGrant(grantId, claimed);
    }
  }

  private valid(m: Extract<ClusterMessage, { reason: string }>): boolean {
    if (isTerminationReason(m.reason)) return true;
    this.d.log.warn({ type: m.t, reason: String(m.reason).slice(0, 64) }, LOG.clusterMessageDropped);
    return false;
  }

  private publish(m: ClusterMessage): void {
    // A message that does not go out is caught by the other nodes' recheck within seconds.
    this.d.bus.publish(m).catch((err: unknown) => this.d.log.warn({ type: m.t, err: errText(err) }, LOG.clusterPublishFailed));
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
