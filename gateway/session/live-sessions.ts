// The live-session registry and its expiry watch. A protocol adapter registers each brokered session
// with two callbacks (warn, close); this module decides when to call them:
//   - warn at expires_at - warnBefore, close('grant-expired') at expires_at (one DeadlineScheduler);
//     or, when the grant's policy's access window shuts first, warn before and close('window-closed') then;
//   - close at once when the grant is revoked, with the reason its revocation carries
//     (grant-revoked, breakglass-denied, user-disabled, target-removed, policy-narrowed, ...),
//     and close('user-disabled' | 'user-removed') for every session of a user disabled or removed,
//     close('target-changed') for every session to a target re-pointed by `target update`;
//   - re-arm both when the grant is extended; close('killed-by-admin') on kill;
//   - close('gateway-shutdown') for all on drain.
// It never touches sockets; adapters translate warn/close into protocol words.
import type { AccessEvents, RevokeCause } from '../access/events.js';
import type { Clock } from '../util/clock.js';
import type { DeadlineScheduler } from '../util/deadline-scheduler.js';
import type { EventBus } from '../util/event-bus.js';
import type { TerminationReason } from './termination.js';

export interface LiveSessionHandle {
  id: string;
  protocol: string;
  user: string;
  target: string;
  grantId: string | null;
  /** The grant's access level (optional: handles made before levels, e.g. in tests, say nothing). */
  level?: string;
  clientAddr: string;
  startedAt: number;
  expiresAt: number;
  /** When the grant's policy's access window shuts (access/decider.ts); absent/null: no such end. */
  windowEndsAt?: number | null;
  /** Shows a one-line notice to the user (terminal line, NoticeResponse, ...). */
  warn(message: string): void;
  /** Ends the session with this reason. Must be idempotent. */
  close(reason: TerminationReason): void;
}

export interface LiveSessionInfo {
  id: string; protocol: string; user: string; target: string; grant: string | null; client_addr: string;
  started_at: string; expires_at: string; level: string | null;
  /** The gateway node that brokers it (cluster listings fill it in; the registry itself is one node's). */
  node?: string | null;
}

export class LiveSessions {
  private sessions = new Map<string, LiveSessionHandle>();
  private byGrant = new Map<string, Set<string>>();

  constructor(
    private readonly clock: Clock,
    private readonly scheduler: DeadlineScheduler,
    private readonly warnBeforeMs: number,
  ) {}

  /** Subscribes to grant changes from the access layer. */
  watch(events: EventBus<AccessEvents>): void {
    events.on('grant.revoked', ({ grant, cause }) => this.closeGrant(grant.id, revokedReason(cause)));
    events.on('grant.extended', ({ grant }) => this.extendGrant(grant.id, Date.parse(grant.expires_at)));
    // A narrowed policy moved the end closer: the same re-arming as an extension.
    events.on('grant.shortened', ({ grant }) => this.extendGrant(grant.id, Date.parse(grant.expires_at)));
    // Every session of the user, whatever grant it runs on (published before the grants' revocations).
    events.on('user.disabled', ({ user, removed }) => this.closeUser(user, removed ? 'user-removed' : 'user-disabled'));
    // Re-pointed: the session's upstream is no longer where the target now says (grants stay).
    events.on('target.changed', ({ target }) => this.closeTarget(target, 'target-changed'));
  }

  get size(): number {
    return this.sessions.size;
  }

  list(): LiveSessionInfo[] {
    return [...this.sessions.values()].map((s) => ({
      id: s.id, protocol: s.protocol, user: s.user, target: s.target, grant: s.grantId, client_addr: s.clientAddr,
      started_at: new Date(s.startedAt).toISOString(), expires_at: new Date(s.expiresAt).toISOString(), level: s.level ?? null,
    }));
  }

  get(id: string): LiveSessionHandle | undefined {
    return this.sessions.get(id);
  }

  /** Registers a session; returns the function the adapter calls when the session has ended. */
  register(s: LiveSessionHandle): () => void {
    this.sessions.set(s.id, s);
    if (s.grantId) {
      const set = this.byGrant.get(s.grantId) ?? new Set<string>();
      set.add(s.id);
      this.byGrant.set(s.grantId, set);
    }
    this.arm(s);
    return () => this.unregister(s.id);
  }

  close(id: string, reason: TerminationReason): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    this.unregister(id);
    s.close(reason);
    return true;
  }

  closeGrant(grantId: string, reason: TerminationReason): number {
    const ids = [...(this.byGrant.get(grantId) ?? [])];
    for (const id of ids) this.close(id, reason);
    return ids.length;
  }

  closeUser(user: string, reason: TerminationReason): void {
    for (const s of [...this.sessions.values()]) if (s.user === user) this.close(s.id, reason);
  }

  closeTarget(target: string, reason: TerminationReason): void {
    for (const s of [...this.sessions.values()]) if (s.target === target) this.close(s.id, reason);
  }

  closeAll(reason: TerminationReason): void {
    for (const id of [...this.sessions.keys()]) this.close(id, reason);
  }

  /** Moves the end of every session of the grant (extended, or shortened) and re-arms its warning and cut. */
  extendGrant(grantId: string, expiresAt: number): void {
    for (const id of this.byGrant.get(grantId) ?? []) {
      const s = this.sessions.get(id);
      if (!s) continue;
      s.expiresAt = expiresAt;
      this.arm(s);
    }
  }

  /** The policy's access window changed under a running session (pipeline recheck): re-arm its warning and cut. */
  retimeWindow(id: string, windowEndsAt: number | null): void {
    const s = this.sessions.get(id);
    if (!s) return;
    s.windowEndsAt = windowEndsAt;
    this.arm(s);
  }

  /** The session's end: the grant's expiry or its access window's close, whichever comes first. */
  private arm(s: LiveSessionHandle): void {
    const windowFirst = s.windowEndsAt != null && s.windowEndsAt < s.expiresAt;
    const endAt = windowFirst ? s.windowEndsAt! : s.expiresAt;
    const warnAt = endAt - this.warnBeforeMs;
    if (warnAt > this.clock.now()) {
      this.scheduler.set(`session-warn:${s.id}`, warnAt, () => {
        const secs = Math.max(0, Math.round((endAt - this.clock.now()) / 1000));
        s.warn(`Portcullis: your access to ${s.target} ends in ${secs} s${windowFirst ? ' (its access window closes)' : ''}`);
      });
    } else {
      this.scheduler.delete(`session-warn:${s.id}`);
    }
    this.scheduler.set(`session-end:${s.id}`, endAt, () => this.close(s.id, windowFirst ? 'window-closed' : 'grant-expired'));
  }

  private unregister(id: string): void {
    const s = this.sessions.get(id);
    if (!s) return;
    this.sessions.delete(id);
    this.scheduler.delete(`session-warn:${id}`);
    this.scheduler.delete(`session-end:${id}`);
    if (s.grantId) {
      const set = this.byGrant.get(s.grantId);
      set?.delete(id);
      if (set && set.size === 0) this.byGrant.delete(s.grantId);
    }
  }
}

/** The session's end for each way a grant is revoked. */
export function revokedReason(cause: RevokeCause): TerminationReason {
  switch (cause) {
    case 'revoked': return 'grant-revoked';
    case 'breakglass-denied': case 'user-disabled': case 'user-removed': case 'target-removed': case 'policy-removed': case 'policy-narrowed':
      return cause;
  }
}
