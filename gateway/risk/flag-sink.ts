// Books a session's flag: the flag row and its weight on the session's risk score (once per
// session, kind and key, atomically in the store), then for a new flag the audit event, the
// webhook event and a log line. A store or audit failure is logged, never thrown: scoring is not a
// reason to cut a session. Markers in the recording are the session watch's (session-watch.ts).
import type { AccessEvents } from '../access/events.js';
import type { AuditLog } from '../audit/audit-log.js';
import { LOG, type Logger } from '../log/logger.js';
import type { SessionFlagKind } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { EventBus } from '../util/event-bus.js';
import { newId } from '../util/ids.js';
import type { SessionStart } from '../session/ports.js';

export interface FlagDraft {
  kind: SessionFlagKind;
  /** One flag per (session, kind, key): a rule's name, or the kind itself. */
  key: string;
  /** Already cleaned and bounded (flag-detail.ts). */
  detail: string;
}

export interface FlagSinkDeps {
  store: Pick<Store, 'sessions'>;
  audit: Pick<AuditLog, 'append'>;
  events: Pick<EventBus<AccessEvents>, 'emit'>;
  log: Logger;
  clock: Clock;
}

export class FlagSink {
  constructor(private readonly d: FlagSinkDeps) {}

  /** The session's score after the flag, or null when the session already had it (or booking failed). */
  async raise(s: SessionStart, f: FlagDraft, weight: number): Promise<number | null> {
    const { store, audit, events, log, clock } = this.d;
    const at = clock.now();
    try {
      const added = await store.sessions.addFlag({ id: newId('flg'), sessionId: s.id, kind: f.kind, key: f.key, detail: f.detail, weight, at });
      if (!added) return null;
      const score = (await store.sessions.byId(s.id))?.riskScore ?? weight;
      const user = s.auth.user.name;
      log.warn({ session: s.id, user, flag: f.kind, key: f.key, detail: f.detail, weight, score }, LOG.sessionFlagged);
      await audit.append('session.flagged', user, { session: s.id, flag: f.kind, key: f.key, detail: f.detail, weight, score });
      events.emit('session.flagged', {
        session: s.id, user, target: s.auth.target.name, protocol: s.protocol, flag: f.kind, key: f.key, detail: f.detail, weight, score,
        at: new Date(at).toISOString(),
      });
      return score;
    } catch (err) {
      log.error({ session: s.id, flag: f.kind, err: err instanceof Error ? err.message : String(err) }, LOG.riskFailed);
      return null;
    }
  }
}
