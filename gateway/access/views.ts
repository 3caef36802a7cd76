// Outward shapes (API, CLI --json, webhooks): names instead of ids, snake_case per DESIGN.md §3, ISO
// times, and never a secret. Every API response is built from these, so a credential cannot leak
// through a record passed straight to JSON. The shapes themselves are declared once in
// ../api-types.ts, which the browser bundle reads too; this file builds them from records.
import { X509Certificate } from 'node:crypto';
import type { CertificateInfo } from '../net/upstream-tls.js';
import type { AutoApproveView, CertificateView, GrantView, LinkView, PolicyView, RequestView, SessionView, TargetSummaryView, TargetView, UserView } from '../api-types.js';
import type {
  AutoApprove, GrantRecord, LinkRecord, PolicyRecord, RequestRecord, SessionRecord, TargetRecord, UserRecord,
} from '../store/records.js';
import type { Store } from '../store/store.js';

import type { VisibleTarget } from './target-visibility.js';
import { autoApproveWindow, describeWindow } from './windows.js';

export type { CertificateView, GrantView, LinkView, PolicyView, RequestView, SessionView, TargetSummaryView, TargetView, UserView };

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function userView(u: UserRecord): UserView {
  return { id: u.id, name: u.name, kind: u.kind, source: u.source, roles: u.roles, totp: u.totpSealed !== null, mysql_native_password: u.mysqlNative, ssh_keys: u.sshKeys.length, disabled: u.disabled, created_at: iso(u.createdAt)! };
}

export function targetView(t: TargetRecord): TargetView {
  return {
    id: t.id, name: t.name, kind: t.kind, host: t.host, port: t.port, account: t.account,
    credential: t.credentialKind, host_key: t.hostKey, database: t.database, tls: t.tlsMode, tls_ca: caSubjects(t.tlsCaPem),
    tls_fingerprint: t.tlsFingerprint, allow_weak_upstream_auth: t.allowWeakUpstreamAuth, mysql_rsa_fingerprint: t.rsaKeyFingerprint, tags: t.tags, created_at: iso(t.createdAt)!,
    credential_mode: t.credentialMode, levels: t.levels.map((l) => ({ name: l.name, grants: [...l.grants] })), rotate: t.rotate,
    rotated_at: iso(t.rotatedAt), ephemeral_reassign_to: t.ephemeralReassignTo, keep_home: t.ephemeralKeepHome,
  };
}

/** A fetched certificate (`target fetch-cert`): `trusted`/`name_matches` against the system CAs or the CA given. */
export function certificateView(c: CertificateInfo): CertificateView {
  return {
    subject: c.subject, issuer: c.issuer, sans: c.sans, valid_from: c.validFrom, valid_to: c.validTo, fingerprint: c.fingerprint,
    trusted: c.chainError === null, chain_error: c.chainError, name_matches: c.nameError === null,
  };
}

/** The subjects of a CA bundle, for display: the PEM itself is long and says little at a glance. */
function caSubjects(pem: string | null): string | null {
  if (pem === null) return null;
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => {
    try {
      return new X509Certificate(b).subject.replace(/\n/g, ', ');
    } catch {
      return '(unreadable)';
    }
  }).join('; ') || '(none)';
}

/** Need-to-know (target-visibility.ts): no host, port, account, host key, database or TLS material. */
export function targetSummaryView(v: VisibleTarget): TargetSummaryView {
  return { name: v.target.name, kind: v.target.kind, tags: v.target.tags, requestable: v.requestable, breakglass: v.breakglass, granted: v.granted,
    levels: v.target.levels.map((l) => l.name),
  };
}

/** Auto-approval conditions as the API shows them: the window in local-time words (windows.ts). */
export function autoApproveView(a: AutoApprove): AutoApproveView {
  const w = autoApproveWindow(a);
  return { roles: a.roles, days: a.days, fromHour: a.fromHour, toHour: a.toHour, onCall: a.onCall, window: w ? describeWindow(w) : null };
}

export function policyView(p: PolicyRecord): PolicyView {
  return {
    id: p.id, name: p.name, roles: p.roles, targets: p.targets, target_tags: p.targetTags, max_duration_s: p.maxDurationMs / 1000,
    require_reason: p.requireReason, ticket_pattern: p.ticketPattern, approvals_required: p.approvalsRequired,
    approver_roles: p.approverRoles, breakglass: p.breakglass,
    auto_approve: p.autoApprove && autoApproveView(p.autoApprove),
    record_keystrokes: p.recordKeystrokes, allow_port_forwarding: p.allowPortForwarding,
    capture_full_output: p.captureFullOutput, recording_required: p.recordingRequired, allow_links: p.allowLinks,
    levels: p.levels, ticket_check: p.ticketCheck, window: p.window && describeWindow(p.window),
  };
}

export async function requestView(store: Store, r: RequestRecord): Promise<RequestView> {
  const approvals = await store.approvals.forSubject(r.id, 'request');
  return {
    id: r.id, user: await nameOfUser(store, r.userId), target: await nameOfTarget(store, r.targetId),
    policy: (await store.policies.byId(r.policyId))?.name ?? r.policyId, duration_s: r.durationMs / 1000, reason: r.reason,
    ticket: r.ticket, status: r.status, created_at: iso(r.createdAt)!, pending_until: iso(r.pendingUntil)!,
    decided_at: iso(r.decidedAt), decided_by: r.decidedBy && (await nameOfUser(store, r.decidedBy)), deny_reason: r.denyReason,
    grant: r.grantId, auto_approved: r.autoApproved, level: r.level,
    ticket_check: r.ticketCheck && { valid: r.ticketCheck.valid, reason: r.ticketCheck.reason, url: r.ticketCheck.url, checked_at: iso(r.ticketCheck.checkedAt)! },
    approvals: await Promise.all(approvals.map((a) => nameOfUser(store, a.approverId))),
  };
}

export async function grantView(store: Store, g: GrantRecord, now: number): Promise<GrantView> {
  const status = g.revokedAt !== null ? 'revoked' : now >= g.expiresAt ? 'expired' : now < g.startsAt ? 'scheduled' : 'active';
  return {
    id: g.id, user: await nameOfUser(store, g.userId), target: await nameOfTarget(store, g.targetId), source: g.source,
    starts_at: iso(g.startsAt)!, expires_at: iso(g.expiresAt)!, reason: g.reason, ticket: g.ticket,
    approvers: await Promise.all(g.approvers.map((a) => nameOfUser(store, a))), revoked_at: iso(g.revokedAt),
    revoked_by: g.revokedBy && (await nameOfUser(store, g.revokedBy)), revoke_reason: g.revokeReason, needs_review: g.needsReview,
    reviewed_by: g.reviewedBy && (await nameOfUser(store, g.reviewedBy)), request: g.requestId, status, level: g.level,
  };
}

export async function sessionView(store: Store, s: SessionRecord): Promise<SessionView> {
  const l = s.userId?.startsWith('lnk_') ? await store.links.byId(s.userId) : undefined;
  return {
    link: l ? { id: l.id, label: l.label, issuer: await nameOfUser(store, l.issuerId) } : null,
    id: s.id, protocol: s.protocol, user: s.userId && (await nameOfUser(store, s.userId)), target: await nameOfTarget(store, s.targetId),
    grant: s.grantId, client_addr: s.clientAddr, started_at: iso(s.startedAt)!, ended_at: iso(s.endedAt), end_reason: s.endReason,
    live: s.endedAt === null, level: s.level, node: s.node, risk_score: s.riskScore ?? 0,
    // Only a session with a score has flags: the common case costs no extra read.
    flags: (s.riskScore ?? 0) > 0
      ? (await store.sessions.flags(s.id)).map((f) => ({ kind: f.kind, key: f.key, detail: f.detail, weight: f.weight, at: iso(f.at)! }))
      : [],
  };
}

export async function nameOfUser(store: Store, id: string): Promise<string> {
  // A link's sessions and grants belong to the link itself (see access/links.ts).
  return (await store.users.byId(id))?.name ?? (id.startsWith('lnk_') ? `link:${id}` : id);
}

/** Never the token: it is shown once, at creation. */
export async function linkView(store: Store, l: LinkRecord, now: number): Promise<LinkView> {
  const status = l.revokedAt !== null ? 'revoked' : l.expiresAt <= now ? 'expired' : l.status === 'pending' ? 'pending' : l.usesLeft <= 0 ? 'used' : 'active';
  return {
    id: l.id, target: await nameOfTarget(store, l.targetId), issuer: await nameOfUser(store, l.issuerId), label: l.label, created_at: iso(l.createdAt)!,
    expires_at: iso(l.expiresAt)!, uses: l.uses, uses_left: l.usesLeft, session_max_s: l.sessionMaxMs / 1000, status,
    approved_by: l.approvedBy && (await nameOfUser(store, l.approvedBy)), revoked_by: l.revokedBy && (await nameOfUser(store, l.revokedBy)),
    level: l.level,
  };
}

export async function nameOfTarget(store: Store, id: string): Promise<string> {
  return (await store.targets.byId(id))?.name ?? id;
}
