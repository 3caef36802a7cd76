// The implementations of the pipeline's ports (ports.ts) over the access layer, the store and the
// audit log. The pipeline sees only the ports, so a store on another engine (PostgreSQL, for
// several nodes) changes nothing here but what the store itself does.
import type { AccessDecider, Authorization } from '../access/decider.js';
import { accessLoss } from '../access/revocation.js';
import { closesAt, inWindow } from '../access/windows.js';
import type { AuditLog } from '../audit/audit-log.js';
import { LOG, type Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { isStoreUnreachable } from '../store/unreachable.js';
import type { Clock } from '../util/clock.js';
import type { DeadlineScheduler } from '../util/deadline-scheduler.js';
import type { Authorizer, SessionJournal, SessionStart } from './ports.js';
import { recordingRef } from './recording-ref.js';
import { indexRecording } from './search-index.js';

export function decidingAuthorizer(decider: AccessDecider, store: Store, clock: Clock): Authorizer {
  return {
    authorize: (user, target, kind, addr, level) => decider.authorize(user, target, kind, addr, level),
    activeGrants: (user, kind) => decider.activeGrants(user, kind),
    // Read from the store each time, not from events: a change made while the session was logging
    // in, or on another node, reaches it here. A link's principal is not a stored user.
    stillValid: async (auth: Authorization) => {
      const loss = await accessLoss(store, clock.now(), { user: auth.user, target: auth.target, grant: auth.grant, link: Boolean(auth.link) });
      if (loss) return { ok: false, reason: loss } as const;
      const policy = auth.grant.policyId ? (await store.policies.byId(auth.grant.policyId)) ?? null : null;
      // The policy's access window as it is now (an admin may have narrowed or widened it since
      // the login): closed now ends the session; open gives the time it closes next.
      if (!policy?.window) return { ok: true, policy, windowEndsAt: null } as const;
      const now = clock.now();
      if (!inWindow(policy.window, now)) return { ok: false, reason: 'window-closed' } as const;
      return { ok: true, policy, windowEndsAt: closesAt(policy.window, now) } as const;
    },
  };
}

/** How often an end the store could not take is tried again, while the store stays unreachable. */
export const END_RETRY_MS = 2000;

/**
 * `node`: this gateway node's name, stored with each session it brokers. `recordingsRoot`: the
 * recording directory is stored relative to it (valid on every node sharing the directory).
 * `retry`: an end the store could not take because it was unreachable (a session cut at its grant's
 * expiry during a store outage) is booked again every END_RETRY_MS until the store takes it;
 * otherwise its row would stay live in the store, listed live on every node, until this node
 * restarts. Kept in memory: if the node dies first, crash recovery or the lost-node sweep ends it.
 */
export function storeJournal(store: Store, audit: AuditLog, log: Logger, node: string | null = null, recordingsRoot: string | null = null,
  retry: { scheduler: DeadlineScheduler; clock: Clock } | null = null): SessionJournal {
  const actor = (s: SessionStart): string => s.auth.user.name;
  const bookEnd = (s: SessionStart, at: number, reason: Parameters<SessionJournal['ended']>[2]): Promise<void> => store.transaction(async () => {
    // Already ended by another node (this one was found lost): that node audited the end.
    const cur = await store.sessions.byId(s.id);
    if (cur && cur.endedAt !== null) return;
    await store.sessions.end(s.id, at, reason);
    await audit.append('session.ended', actor(s), { session: s.id, reason });
  });
  const retryEnd = (s: SessionStart, at: number, reason: Parameters<SessionJournal['ended']>[2]): void => {
    if (!retry) return;
    retry.scheduler.set(`session:end-retry:${s.id}`, retry.clock.now() + END_RETRY_MS, async () => {
      try {
        await bookEnd(s, at, reason);
        log.info({ session: s.id, reason }, LOG.sessionEndBookedLate);
      } catch (err) {
        if (isStoreUnreachable(err)) retryEnd(s, at, reason);
        else log.error({ session: s.id, err: err instanceof Error ? err.message : String(err) }, LOG.sessionJournalFailed);
      }
    });
  };
  return {
    started: (s) => store.transaction(async () => {
      const { auth } = s;
      await store.sessions.insert({
        id: s.id, protocol: s.protocol, userId: auth.user.id, targetId: auth.target.id, grantId: auth.grant.id, level: auth.grant.level, clientAddr: s.clientAddr,
        startedAt: s.startedAt, endedAt: null, endReason: null, recording: recordingRef(recordingsRoot, s.recordingDir), node,
      });
      await audit.append('session.started', actor(s), {
        session: s.id, user: auth.user.name, target: auth.target.name, protocol: s.protocol, grant: auth.grant.id, addr: s.clientAddr,
        ...(auth.link ? { link: auth.link } : {}), level: auth.grant.level,
      });
    }),
    ended: async (s, at, reason) => {
      try {
        await bookEnd(s, at, reason);
      } catch (err) {
        if (isStoreUnreachable(err)) retryEnd(s, at, reason);
        throw err;
      }
    },
    upstreamFailed: async (s, kind, detail) => {
      await audit.append('session.upstream_failed', actor(s), { session: s.id, target: s.auth.target.name, reason: kind, ...(detail ? { detail } : {}) });
    },
    weakUpstreamAuth: async (s, method) => { await audit.append('upstream.weak_auth', actor(s), { session: s.id, target: s.auth.target.name, method }); },
    statements: async (s, count) => { await audit.append('session.statements', actor(s), { session: s.id, count }); },
    forwarded: async (s, f) => { await audit.append('session.forward', actor(s), { session: s.id, ...f }); },
    gated: async (s, g) => { await audit.append('session.gated', actor(s), { session: s.id, ...g }); },
    credentialRevokeFailed: async (s, source, error) => {
      await audit.append('credential.revoke_failed', actor(s), { session: s.id, target: s.auth.target.name, source, error });
    },
    index: async (s) => { await indexRecording(store, s.recordingDir, s.id, log); },
  };
}
