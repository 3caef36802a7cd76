// The pipeline's narrow, async dependencies. Every one returns a Promise even though today's
// implementations (store-ports.ts) sit on the synchronous SQLite store, so that when the store goes
// async (and later PostgreSQL for several nodes) only the implementations change, not the pipeline.
// Types only.
import type { Authorization, Decision } from '../access/decider.js';
import type { GrantRecord, PolicyRecord, TargetKind, TargetRecord, UserRecord } from '../store/records.js';
import type { AccessEnd, TerminationReason } from './termination.js';

export interface Authorizer {
  /** The one authorization step (AccessDecider), fail-closed; a refusal is audited by the decider. `level`: as named in USER+TARGET+LEVEL. */
  authorize(user: UserRecord, target: string, kind: TargetKind, addr: string, level?: string | null): Promise<Decision>;
  /** Active grants of the user for targets of this kind (the SSH menu). */
  activeGrants(user: UserRecord, kind: TargetKind): Promise<Array<{ grant: GrantRecord; target: TargetRecord }>>;
  /**
   * Whether the authorization still holds now (user, target, policy, grant), with the current
   * policy; the most specific reason it ended otherwise. Asked before relaying and again for every
   * new SSH channel and forward on a running connection.
   */
  stillValid(auth: Authorization): Promise<{ ok: true; policy: PolicyRecord | null; windowEndsAt: number | null } | { ok: false; reason: AccessEnd }>;
}

export interface SessionStart {
  id: string;
  protocol: string;
  auth: Authorization;
  clientAddr: string;
  startedAt: number;
  recordingDir: string;
}

/** The session's books: its row in the store and its audit events. */
export interface SessionJournal {
  started(s: SessionStart): Promise<void>;
  ended(s: SessionStart, at: number, reason: TerminationReason): Promise<void>;
  upstreamFailed(s: SessionStart, kind: string, detail?: string): Promise<void>;
  /** The upstream login used a weak method the target opted in to (upstream.weak_auth). */
  weakUpstreamAuth(s: SessionStart, method: string): Promise<void>;
  statements(s: SessionStart, count: number): Promise<void>;
  forwarded(s: SessionStart, f: { host: string; port: number; allowed: boolean; bytesIn: number; bytesOut: number }): Promise<void>;
  gated(s: SessionStart, g: { verdict: 'deny' | 'flag'; rule: string; command: string }): Promise<void>;
  credentialRevokeFailed(s: SessionStart, source: string, error: string): Promise<void>;
  /** Makes the sealed recording searchable. */
  index(s: SessionStart): Promise<void>;
}
