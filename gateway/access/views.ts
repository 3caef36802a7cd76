// Outward shapes (API, CLI --json, webhooks): names instead of ids, snake_case per DESIGN.md §3, ISO
// times, and never a secret. Every API response is built from these, so a credential cannot leak
// through a record passed straight to JSON.
import type {
  GrantRecord, LinkRecord, PolicyRecord, RequestRecord, SessionRecord, TargetRecord, UserRecord,
} from '../store/records.js';
import type { Store } from '../store/store.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export interface UserView { id: string; name: string; kind: string; roles: string[]; totp: boolean; ssh_keys: number; disabled: boolean; created_at: string }
export function userView(u: UserRecord): UserView {
  return { id: u.id, name: u.name, kind: u.kind, roles: u.roles, totp: u.totpSealed !== null, ssh_keys: u.sshKeys.length, disabled: u.disabled, created_at: iso(u.createdAt)! };
}

export interface TargetView { id: string; name: string; kind: string; host: string; port: number; account: string; credential: string; host_key: string | null; database: string | null; tls: string; tags: string[]; created_at: string }
export function targetView(t: TargetRecord): TargetView {
  return {
    id: t.id, name: t.name, kind: t.kind, host: t.host, port: t.port, account: t.account,
    credential: t.credentialKind, host_key: t.hostKey, database: t.database, tls: t.tlsMode, tags: t.tags, created_at: iso(t.createdAt)!,
  };
}

export interface PolicyView {
  id: string; name: string; roles: string[]; targets: string[]; target_tags: string[]; max_duration_s: number;
  require_reason: boolean; ticket_pattern: string | null; approvals_required: number; approver_roles: string[];
  auto_approve: PolicyRecord['autoApprove']; breakglass: boolean; record_keystrokes: boolean; allow_port_forwarding: boolean;
  capture_full_output: boolean; recording_required: boolean; allow_links: boolean;
}
export function policyView(p: PolicyRecord): PolicyView {
  return {
    id: p.id, name: p.name, roles: p.roles, targets: p.targets, target_tags: p.targetTags, max_duration_s: p.maxDurationMs / 1000,
    require_reason: p.requireReason, ticket_pattern: p.ticketPattern, approvals_required: p.approvalsRequired,
    approver_roles: p.approverRoles, auto_approve: p.autoApprove, breakglass: p.breakglass,
    record_keystrokes: p.recordKeystrokes, allow_port_forwarding: p.allowPortForwarding,
    capture_full_output: p.captureFullOutput, recording_required: p.recordingRequired, allow_links: p.allowLinks,
  };
}

export interface RequestView {
  id: string; user: string; target: string; policy: string; duration_s: number; reason: string; ticket: string | null;
  status: string; created_at: string; pending_until: string; decided_at: string | null; decided_by: string | null;
  deny_reason: string | null; grant: string | null; auto_approved: boolean; approvals: string[];
}
export async function requestView(store: Store, r: RequestRecord): Promise<RequestView> {
  const approvals = await store.approvals.forSubject(r.id, 'request');
  return {
    id: r.id, user: await nameOfUser(store, r.userId), target: await nameOfTarget(store, r.targetId),
    policy: (await store.policies.byId(r.policyId))?.name ?? r.policyId, duration_s: r.durationMs / 1000, reason: r.reason,
    ticket: r.ticket, status: r.status, created_at: iso(r.createdAt)!, pending_until: iso(r.pendingUntil)!,
    decided_at: iso(r.decidedAt), decided_by: r.decidedBy && (await nameOfUser(store, r.decidedBy)), deny_reason: r.denyReason,
    grant: r.grantId, auto_approved: r.autoApproved,
    approvals: await Promise.all(approvals.map((a) => nameOfUser(store, a.approverId))),
  };
}

export interface GrantView {
  id: string; user: string; target: string; source: string; starts_at: string; expires_at: string; reason: string;
  ticket: string | null; approvers: string[]; revoked_at: string | null; revoked_by: string | null; revoke_reason: string | null;
  needs_review: boolean; reviewed_by: string | null; request: string | null; status: 'active' | 'expired' | 'revoked' | 'scheduled';
}
export async function grantView(store: Store, g: GrantRecord, now: number): Promise<GrantView> {
  const status = g.revokedAt !== null ? 'revoked' : now >= g.expiresAt ? 'expired' : now < g.startsAt ? 'scheduled' : 'active';
  return {
    id: g.id, user: await nameOfUser(store, g.userId), target: await nameOfTarget(store, g.targetId), source: g.source,
    starts_at: iso(g.startsAt)!, expires_at: iso(g.expiresAt)!, reason: g.reason, ticket: g.ticket,
    approvers: await Promise.all(g.approvers.map((a) => nameOfUser(store, a))), revoked_at: iso(g.revokedAt),
    revoked_by: g.revokedBy && (await nameOfUser(store, g.revokedBy)), revoke_reason: g.revokeReason, needs_review: g.needsReview,
    reviewed_by: g.reviewedBy && (await nameOfUser(store, g.reviewedBy)), request: g.requestId, status,
  };
}

export interface SessionView {
  id: string; protocol: string; user: string | null; target: string; grant: string | null; client_addr: string;
  started_at: string; ended_at: string | null; end_reason: string | null; live: boolean;
  /** For a session opened through a one-time link: which link, its label and who issued it. */
  link: { id: string; label: string; issuer: string } | null;
}
export async function sessionView(store: Store, s: SessionRecord): Promise<SessionView> {
  const l = s.userId?.startsWith('lnk_') ? await store.links.byId(s.userId) : undefined;
  return {
    link: l ? { id: l.id, label: l.label, issuer: await nameOfUser(store, l.issuerId) } : null,
    id: s.id, protocol: s.protocol, user: s.userId && (await nameOfUser(store, s.userId)), target: await nameOfTarget(store, s.targetId),
    grant: s.grantId, client_addr: s.clientAddr, started_at: iso(s.startedAt)!, ended_at: iso(s.endedAt), end_reason: s.endReason,
    live: s.endedAt === null,
  };
}

export async function nameOfUser(store: Store, id: string): Promise<string> {
  // A link's sessions and grants belong to the link itself (see access/links.ts).
  return (await store.users.byId(id))?.name ?? (id.startsWith('lnk_') ? `link:${id}` : id);
}

export interface LinkView {
  id: string; target: string; issuer: string; label: string; created_at: string; expires_at: string; uses: number; uses_left: number;
  session_max_s: number; status: 'pending' | 'active' | 'used' | 'expired' | 'revoked'; approved_by: string | null; revoked_by: string | null;
}
/** Never the token: it is shown once, at creation. */
export async function linkView(store: Store, l: LinkRecord, now: number): Promise<LinkView> {
  const status = l.revokedAt !== null ? 'revoked' : l.expiresAt <= now ? 'expired' : l.status === 'pending' ? 'pending' : l.usesLeft <= 0 ? 'used' : 'active';
  return {
    id: l.id, target: await nameOfTarget(store, l.targetId), issuer: await nameOfUser(store, l.issuerId), label: l.label, created_at: iso(l.createdAt)!,
    expires_at: iso(l.expiresAt)!, uses: l.uses, uses_left: l.usesLeft, session_max_s: l.sessionMaxMs / 1000, status,
    approved_by: l.approvedBy && (await nameOfUser(store, l.approvedBy)), revoked_by: l.revokedBy && (await nameOfUser(store, l.revokedBy)),
  };
}

export async function nameOfTarget(store: Store, id: string): Promise<string> {
  return (await store.targets.byId(id))?.name ?? id;
}
