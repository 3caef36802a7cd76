// Domain events the access layer publishes after a change is committed. Subscribers: the session
// layer (cut sessions on revoke, re-arm on extend), access timers, and webhooks.
import type { GrantView, RequestView } from './views.js';

/** Why a grant was revoked (revocation.ts); the live registry maps each to its termination reason. */
export type RevokeCause = 'revoked' | 'breakglass-denied' | 'user-disabled' | 'user-removed' | 'target-removed' | 'policy-removed' | 'policy-narrowed';

export interface AccessEvents {
  'request.created': { request: RequestView };
  'request.approved': { request: RequestView; approver: string };
  'request.denied': { request: RequestView; approver: string; reason: string };
  'request.expired': { request: RequestView };
  'grant.created': { grant: GrantView };
  'grant.extended': { grant: GrantView; by: string };
  'grant.revoked': { grant: GrantView; by: string; reason: string; cause: RevokeCause };
  /** A narrowed policy cut what was left of the grant (policies.ts policyNarrowing); sessions re-arm. */
  'grant.shortened': { grant: GrantView; by: string; reason: string };
  'grant.expiring': { grant: GrantView; inMs: number };
  'grant.expired': { grant: GrantView };
  'breakglass.used': { grant: GrantView };
  'breakglass.reviewed': { grant: GrantView; by: string; verdict: 'accepted' | 'denied'; reason: string };
  /** A target was re-pointed (target-update.ts): its live sessions end with `target-changed`. */
  'target.changed': { target: string; by: string; fields: string[] };
  /** A user was disabled or removed: whatever access they hold now must end. */
  'user.disabled': { user: string; by: string; removed: boolean };
  /**
   * A login budget ran out (once per lock, from throttle.ts): `user` is null for an address lock,
   * `addr` null for an account lock. The name may not exist: unknown names have budgets too.
   */
  'auth.locked': { scope: 'pair' | 'account' | 'address'; user: string | null; addr: string | null; until: string; method: string; suppressed: number };
  /** The recordings volume fell below its watermark (once per crossing): new sessions are refused. */
  'recordings.space_low': RecordingsSpace;
  /** The recordings volume has room again: sessions start again. */
  'recordings.space_restored': RecordingsSpace;
  /** A signed checkpoint of the audit chain's head was written (audit/checkpoints.ts): the off-host copy. */
  'audit.checkpoint': CheckpointNotice;
  /** An ephemeral account of an ended grant could not be dropped N times in a row (once per account). */
  'ephemeral.drop_failing': EphemeralAlert & { attempts: number; error: string };
  /** Portcullis gave up an ephemeral account that may still exist on its target (target removed with --force). */
  'ephemeral.abandoned': EphemeralAlert & { by: string; reason: string };
  /** Rotating a target's static credential failed (provision/rotation.ts); `outcome` stuck needs an admin. Never a secret. */
  'credential.rotation_failed': RotationFailure;
  /** Discovery found a privileged account nobody manages, new since the last run (gateway/provision/discovery.ts). */
  'discovery.unmanaged_found': { target: string; account: string; privileges: string[]; found_at: string };
  /** Scheduled discovery of a target failed: once per failure streak (discovery-schedule.ts). */
  'discovery.failed': { target: string; error: string; at: string };
  /** A session got a risk flag (gateway/risk/flag-sink.ts), once per (session, flag, key). */
  'session.flagged': SessionFlagged;
  /** A gateway node stopped beating; another node ended its live sessions as node-lost (once per cluster). */
  'node.lost': { node: string; by: string; sessions: number; last_heartbeat: string };
}

export interface SessionFlagged {
  session: string;
  user: string;
  target: string;
  protocol: string;
  flag: string;
  key: string;
  /** What was seen, bounded, control characters removed; may hold a command the user typed. */
  detail: string;
  weight: number;
  score: number;
  at: string;
}

/** Which account an ephemeral alert is about (never its secret). */
export interface EphemeralAlert {
  target: string;
  account: string;
  grant: string;
}

export interface RotationFailure {
  target: string;
  trigger: string;
  step: string;
  reason: string;
  outcome: 'kept-old' | 'committed-new' | 'stuck';
  at: string;
}

export interface RecordingsSpace {
  dir: string;
  free_bytes: number;
  total_bytes: number;
  watermark_bytes: number;
  /** Set when the volume could not be measured at all. */
  error?: string;
}

/** A signed audit checkpoint, as the webhooks get it (the signed line and the fields to read it by). */
export interface CheckpointNotice {
  seq: number;
  hash: string;
  at: string;
  node: string;
  keyed_from: number;
  key_id: string;
  reason: 'keying-began' | 'start' | 'schedule' | 'shutdown';
  /** The exact signed line, as written to the checkpoint file: check it with `public_key`. */
  line: string;
  /** The raw Ed25519 public key, base64 (pin it; compare with `audit-signing.pub`). */
  public_key: string;
}

export type AccessEventName = keyof AccessEvents;
