// Today's implementations of the pipeline's ports (ports.ts) over the synchronous services: the
// AccessDecider, the SQLite store and the audit log. Each call is wrapped so a throw becomes a
// rejected promise; when the store goes async these bodies change and nothing else does.
import type { AccessDecider, Authorization } from '../access/decider.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { Authorizer, SessionJournal, SessionStart } from './ports.js';
import { indexRecording } from './search-index.js';

const later = <T>(fn: () => T): Promise<T> => new Promise((resolve) => resolve(fn()));

export function decidingAuthorizer(decider: AccessDecider, store: Store, clock: Clock): Authorizer {
  return {
    authorize: (user, target, kind, addr) => later(() => decider.authorize(user, target, kind, addr)),
    activeGrants: (user, kind) => later(() => decider.activeGrants(user, kind)),
    stillValid: (auth: Authorization) => later(() => {
      const g = store.grants.byId(auth.grant.id);
      if (!g || g.revokedAt !== null) return { ok: false, reason: 'grant-revoked' } as const;
      // A link's grant and a user's grant end the same way: at expiresAt.
      return clock.now() < g.expiresAt ? { ok: true } as const : { ok: false, reason: 'grant-expired' } as const;
    }),
  };
}

export function storeJournal(store: Store, audit: AuditLog, log: Logger): SessionJournal {
  const actor = (s: SessionStart): string => s.auth.user.name;
  return {
    started: (s) => later(() => store.transaction(() => {
      const { auth } = s;
      store.sessions.insert({
        id: s.id, protocol: s.protocol, userId: auth.user.id, targetId: auth.target.id, grantId: auth.grant.id, clientAddr: s.clientAddr,
        startedAt: s.startedAt, endedAt: null, endReason: null, recording: s.recordingDir,
      });
      audit.append('session.started', actor(s), {
        session: s.id, user: auth.user.name, target: auth.target.name, protocol: s.protocol, grant: auth.grant.id, addr: s.clientAddr,
        ...(auth.link ? { link: auth.link } : {}),
      });
    })),
    ended: (s, at, reason) => later(() => store.transaction(() => {
      store.sessions.end(s.id, at, reason);
      audit.append('session.ended', actor(s), { session: s.id, reason });
    })),
    upstreamFailed: (s, kind) => later(() => { audit.append('session.upstream_failed', actor(s), { session: s.id, target: s.auth.target.name, reason: kind }); }),
    statements: (s, count) => later(() => { audit.append('session.statements', actor(s), { session: s.id, count }); }),
    forwarded: (s, f) => later(() => { audit.append('session.forward', actor(s), { session: s.id, ...f }); }),
    gated: (s, g) => later(() => { audit.append('session.gated', actor(s), { session: s.id, ...g }); }),
    credentialRevokeFailed: (s, source, error) => later(() => {
      audit.append('credential.revoke_failed', actor(s), { session: s.id, target: s.auth.target.name, source, error });
    }),
    index: async (s) => { await indexRecording(store, s.recordingDir, s.id, log); },
  };
}
