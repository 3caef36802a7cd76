// The flags a session has from the moment it starts: off-hours (outside its policy's window, the
// configured business hours, or the user's usual hours), first use of the target, a client address
// the user has not used before, break-glass, a vendor link, and failed logins of the user's name
// just before. `readHistory` does the two store reads; `startFlags` is pure.
import type { Authorization } from '../access/decider.js';
import { addressKey } from '../access/throttle.js';
import type { SessionRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { FlagDraft } from './flag-sink.js';
import { flagDetail } from './flag-detail.js';
import { type AccessWindow, describeWindow, inWindow } from '../access/windows.js';
import type { RiskSettings } from './risk-settings.js';
import { usualHours } from './usual-hours.js';

const DAY = 86_400_000;
/** Previous sessions read for usual hours and addresses: enough for a month of heavy use. */
const HISTORY_LIMIT = 1000;

export interface StartFacts {
  sessionId: string;
  auth: Authorization;
  clientAddr: string;
  startedAt: number;
  /** The access window of the session's policy (policy-window.ts), null when it has none. */
  policyWindow: AccessWindow | null;
  /** Failed logins of the user's name within `failureWindowMs` before now (login throttle, every node). */
  recentFailures: number;
  failureWindowMs: number;
}

export interface History {
  /** The user's other sessions of the last historyDays, newest first (at most HISTORY_LIMIT). */
  previous: SessionRecord[];
  /** Whether the user has any other session on this target, ever. */
  usedTargetBefore: boolean;
}

/** A link's sessions belong to the link: no user history to learn from. */
export function hasHistory(auth: Authorization): boolean {
  return !auth.link && !auth.user.id.startsWith('lnk_');
}

export async function readHistory(store: Pick<Store, 'sessions'>, f: StartFacts, s: RiskSettings): Promise<History> {
  const userId = f.auth.user.id;
  const [recent, onTarget] = await Promise.all([
    store.sessions.list({ userId, since: f.startedAt - s.historyDays * DAY, limit: HISTORY_LIMIT }),
    store.sessions.list({ userId, targetId: f.auth.target.id, limit: 2 }),
  ]);
  // Sessions that started after this one (a burst of logins) are not its history.
  const before = (r: SessionRecord): boolean => r.id !== f.sessionId && r.startedAt <= f.startedAt;
  return { previous: recent.filter(before), usedTargetBefore: onTarget.some(before) };
}

export function startFlags(f: StartFacts, h: History | null, s: RiskSettings): FlagDraft[] {
  const out: FlagDraft[] = [];
  const add = (kind: FlagDraft['kind'], detail: string): void => { out.push({ kind, key: kind, detail: flagDetail(detail) }); };
  const off: string[] = [];
  if (f.policyWindow && !inWindow(f.policyWindow, f.startedAt)) off.push(`outside its policy's window (${describeWindow(f.policyWindow)})`);
  if (s.businessHours && !inWindow(s.businessHours, f.startedAt)) off.push(`outside business hours (${describeWindow(s.businessHours)})`);
  if (h) {
    const u = usualHours(f.startedAt, h.previous.map((p) => p.startedAt), s.historyMinSessions);
    if (u?.unusual) off.push(`outside the user's usual hours (${u.why} in ${s.historyDays} days)`);
  }
  if (off.length > 0) add('off-hours', `started ${new Date(f.startedAt).toISOString().slice(0, 16)}Z, ${off.join('; ')}`);
  if (h && !h.usedTargetBefore) add('first-use', `first session of ${f.auth.user.name} on ${f.auth.target.name}`);
  // Only against a history: a user's very first session is first-use, not also a new address.
  if (h && h.previous.length > 0) {
    const key = addressKey(f.clientAddr);
    if (!h.previous.some((p) => addressKey(p.clientAddr) === key)) {
      add('new-address', `client address ${f.clientAddr} not seen in ${h.previous.length} sessions of the last ${s.historyDays} days`);
    }
  }
  if (f.auth.grant.source === 'breakglass') add('break-glass', `break-glass grant ${f.auth.grant.id}: ${f.auth.grant.reason}`);
  if (f.auth.link) add('vendor-link', `one-time link ${f.auth.link.id} "${f.auth.link.label}" issued by ${f.auth.link.issuer}`);
  if (f.recentFailures >= s.failedLogins) {
    add('failed-logins', `${f.recentFailures} failed logins as ${f.auth.user.name} in the ${Math.round(f.failureWindowMs / 60_000)} min before this session`);
  }
  return out;
}
