// Row <-> record mapping. SQLite has no arrays or booleans: lists are JSON text, flags are 0/1.
import type {
  AccessLevel, ApiTokenRecord, MysqlConnectionRecord, NodeRecord, DiscoveryFindingRecord, EphemeralAccountRecord, GrantRecord, LinkRecord, LoginHandoffRecord, PolicyRecord, RequestRecord, RuleRecord, SessionFlagRecord, SessionRecord, SsoSessionRecord, TargetRecord, TicketCheckResult, UserRecord,
} from '../records.js';

export type Row = Record<string, unknown>;

// SQLite hands back strings, numbers, bigints, buffers or null; columns read here are text or integers.
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? v.toString() : '');
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : str(v));
const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const list = (v: unknown): string[] => JSON.parse(str(v)) as string[];

export const userFromRow = (r: Row): UserRecord => ({
  id: str(r.id), name: str(r.name), kind: str(r.kind) as UserRecord['kind'], roles: list(r.roles),
  passwordHash: strOrNull(r.password_hash), scramVerifier: strOrNull(r.scram_verifier), nativeVerifier: strOrNull(r.native_verifier), mysqlNative: num(r.mysql_native) === 1, sshKeys: list(r.ssh_keys), totpSealed: strOrNull(r.totp_sealed),
  totpLastStep: num(r.totp_last_step), disabled: num(r.disabled) === 1, createdAt: num(r.created_at),
  source: str(r.source) === 'oidc' ? 'oidc' : 'local', externalId: strOrNull(r.external_id),
});

export const userToRow = (u: UserRecord): Row => ({
  id: u.id, name: u.name, kind: u.kind, roles: JSON.stringify(u.roles), password_hash: u.passwordHash, scram_verifier: u.scramVerifier, native_verifier: u.nativeVerifier, mysql_native: u.mysqlNative ? 1 : 0,
  ssh_keys: JSON.stringify(u.sshKeys), totp_sealed: u.totpSealed, totp_last_step: u.totpLastStep,
  disabled: u.disabled ? 1 : 0, created_at: u.createdAt, source: u.source, external_id: u.externalId,
});

export const targetFromRow = (r: Row): TargetRecord => ({
  id: str(r.id), name: str(r.name), kind: str(r.kind) as TargetRecord['kind'], host: str(r.host), port: num(r.port),
  account: str(r.account), credentialKind: str(r.credential_kind) as TargetRecord['credentialKind'],
  credentialSealed: str(r.credential_sealed), hostKey: strOrNull(r.host_key), database: strOrNull(r.database),
  tlsMode: str(r.tls_mode) as TargetRecord['tlsMode'], tlsCaPem: strOrNull(r.tls_ca_pem), tlsFingerprint: strOrNull(r.tls_fingerprint),
  allowWeakUpstreamAuth: num(r.allow_weak_upstream_auth) === 1, rsaKeyFingerprint: strOrNull(r.rsa_key_fingerprint), tags: list(r.tags),
  credentialMode: str(r.credential_mode) === 'ephemeral' ? 'ephemeral' : 'static', levels: JSON.parse(str(r.levels)) as AccessLevel[],
  rotate: str(r.rotate) as TargetRecord['rotate'], ephemeralReassignTo: strOrNull(r.ephemeral_reassign_to),
  ephemeralKeepHome: num(r.ephemeral_keep_home) === 1, pendingCredentialSealed: strOrNull(r.pending_credential_sealed),
  rotatedAt: numOrNull(r.rotated_at), createdAt: num(r.created_at),
});

export const targetToRow = (t: TargetRecord): Row => ({
  id: t.id, name: t.name, kind: t.kind, host: t.host, port: t.port, account: t.account,
  credential_kind: t.credentialKind, credential_sealed: t.credentialSealed, host_key: t.hostKey,
  database: t.database, tls_mode: t.tlsMode, tls_ca_pem: t.tlsCaPem, tls_fingerprint: t.tlsFingerprint,
  allow_weak_upstream_auth: t.allowWeakUpstreamAuth ? 1 : 0, rsa_key_fingerprint: t.rsaKeyFingerprint, tags: JSON.stringify(t.tags),
  credential_mode: t.credentialMode, levels: JSON.stringify(t.levels), rotate: t.rotate, ephemeral_reassign_to: t.ephemeralReassignTo,
  ephemeral_keep_home: t.ephemeralKeepHome ? 1 : 0, pending_credential_sealed: t.pendingCredentialSealed, rotated_at: t.rotatedAt,
  created_at: t.createdAt,
});

// A policy has many optional knobs; it is stored as one JSON body so adding a knob needs no migration.
// Knobs added after a policy was stored take these values.
const POLICY_DEFAULTS = { captureFullOutput: false, recordingRequired: true, allowLinks: false, levels: [] as string[], ticketCheck: null, window: null };

export const policyFromRow = (r: Row): PolicyRecord => ({
  ...POLICY_DEFAULTS,
  ...(JSON.parse(str(r.body)) as Omit<PolicyRecord, 'id' | 'name' | 'createdAt'>),
  id: str(r.id), name: str(r.name), createdAt: num(r.created_at),
});

export const policyToRow = (p: PolicyRecord): Row => {
  const { id, name, createdAt, ...body } = p;
  return { id, name, created_at: createdAt, body: JSON.stringify(body) };
};

export const requestFromRow = (r: Row): RequestRecord => ({
  id: str(r.id), userId: str(r.user_id), targetId: str(r.target_id), policyId: str(r.policy_id),
  durationMs: num(r.duration_ms), level: str(r.level), reason: str(r.reason), ticket: strOrNull(r.ticket),
  status: str(r.status) as RequestRecord['status'], createdAt: num(r.created_at), pendingUntil: num(r.pending_until),
  decidedAt: numOrNull(r.decided_at), decidedBy: strOrNull(r.decided_by), denyReason: strOrNull(r.deny_reason),
  grantId: strOrNull(r.grant_id), autoApproved: num(r.auto_approved) === 1,
  ticketCheck: r.ticket_check == null ? null : JSON.parse(str(r.ticket_check)) as TicketCheckResult,
});

export const requestToRow = (q: RequestRecord): Row => ({
  id: q.id, user_id: q.userId, target_id: q.targetId, policy_id: q.policyId, duration_ms: q.durationMs, level: q.level,
  reason: q.reason, ticket: q.ticket, status: q.status, created_at: q.createdAt, pending_until: q.pendingUntil,
  decided_at: q.decidedAt, decided_by: q.decidedBy, deny_reason: q.denyReason, grant_id: q.grantId,
  auto_approved: q.autoApproved ? 1 : 0, ticket_check: q.ticketCheck === null ? null : JSON.stringify(q.ticketCheck),
});

export const grantFromRow = (r: Row): GrantRecord => ({
  id: str(r.id), userId: str(r.user_id), targetId: str(r.target_id), requestId: strOrNull(r.request_id),
  policyId: strOrNull(r.policy_id), source: str(r.source) as GrantRecord['source'], level: str(r.level), startsAt: num(r.starts_at),
  expiresAt: num(r.expires_at), reason: str(r.reason), ticket: strOrNull(r.ticket), approvers: list(r.approvers),
  revokedAt: numOrNull(r.revoked_at), revokedBy: strOrNull(r.revoked_by), revokeReason: strOrNull(r.revoke_reason),
  needsReview: num(r.needs_review) === 1, reviewedBy: strOrNull(r.reviewed_by), reviewedAt: numOrNull(r.reviewed_at),
  dbVerifier: strOrNull(r.db_verifier), createdAt: num(r.created_at),
});

export const grantToRow = (g: GrantRecord): Row => ({
  id: g.id, user_id: g.userId, target_id: g.targetId, request_id: g.requestId, policy_id: g.policyId,
  source: g.source, level: g.level, starts_at: g.startsAt, expires_at: g.expiresAt, reason: g.reason, ticket: g.ticket,
  approvers: JSON.stringify(g.approvers), revoked_at: g.revokedAt, revoked_by: g.revokedBy,
  revoke_reason: g.revokeReason, needs_review: g.needsReview ? 1 : 0, reviewed_by: g.reviewedBy,
  reviewed_at: g.reviewedAt, db_verifier: g.dbVerifier, created_at: g.createdAt,
});

export const tokenFromRow = (r: Row): ApiTokenRecord => ({
  id: str(r.id), userId: str(r.user_id), hash: str(r.hash), label: str(r.label),
  expiresAt: numOrNull(r.expires_at), createdAt: num(r.created_at),
});

export const sessionFromRow = (r: Row): SessionRecord => ({
  id: str(r.id), protocol: str(r.protocol), userId: strOrNull(r.user_id), targetId: str(r.target_id),
  grantId: strOrNull(r.grant_id), level: strOrNull(r.level), clientAddr: str(r.client_addr), startedAt: num(r.started_at),
  endedAt: numOrNull(r.ended_at), endReason: strOrNull(r.end_reason), recording: strOrNull(r.recording),
  node: strOrNull(r.node), riskScore: num(r.risk_score ?? 0),
});

export const ruleToRow = (r: RuleRecord): Row => ({
  id: r.id, name: r.name, kind: r.kind, class: r.class, match: r.match, action: r.action, targets: JSON.stringify(r.targets),
  roles: JSON.stringify(r.roles), levels: JSON.stringify(r.levels), message: r.message, unparsable: r.unparsable,
  created_at: r.createdAt, created_by: r.createdBy,
});

export const ruleFromRow = (r: Row): RuleRecord => ({
  id: str(r.id), name: str(r.name), kind: str(r.kind) === 'command' ? 'command' : 'sql', class: strOrNull(r.class), match: strOrNull(r.match),
  action: str(r.action) === 'flag' ? 'flag' : 'deny', targets: list(r.targets), roles: list(r.roles), levels: list(r.levels),
  message: strOrNull(r.message), unparsable: str(r.unparsable) === 'allow' ? 'allow' : 'deny', createdAt: num(r.created_at), createdBy: str(r.created_by),
});

export const flagToRow = (f: SessionFlagRecord): Row => ({
  id: f.id, session_id: f.sessionId, kind: f.kind, key: f.key, detail: f.detail, weight: f.weight, at: f.at,
});

export const flagFromRow = (r: Row): SessionFlagRecord => ({
  id: str(r.id), sessionId: str(r.session_id), kind: str(r.kind) as SessionFlagRecord['kind'], key: str(r.key), detail: str(r.detail),
  weight: num(r.weight), at: num(r.at),
});

export const nodeFromRow = (r: Row): NodeRecord => ({
  name: str(r.name), incarnation: str(r.incarnation), state: str(r.state) as NodeRecord['state'], version: str(r.version),
  startedAt: num(r.started_at), heartbeatAt: num(r.heartbeat_at), endedAt: numOrNull(r.ended_at),
});

export const mysqlConnectionFromRow = (r: Row): MysqlConnectionRecord => ({
  id: num(r.id), node: str(r.node), sessionId: str(r.session_id), userId: str(r.user_id), targetId: str(r.target_id),
  upstreamId: num(r.upstream_id),
});

export const linkToRow = (l: LinkRecord): Row => ({
  id: l.id, token_hash: l.tokenHash, ssh_code_hash: l.sshCodeHash, target_id: l.targetId, issuer_id: l.issuerId, policy_id: l.policyId,
  label: l.label, created_at: l.createdAt, expires_at: l.expiresAt, uses_left: l.usesLeft, uses: l.uses, session_max_ms: l.sessionMaxMs, level: l.level,
  status: l.status, approved_by: l.approvedBy, revoked_at: l.revokedAt, revoked_by: l.revokedBy,
});

export const linkFromRow = (r: Row): LinkRecord => ({
  id: str(r.id), tokenHash: str(r.token_hash), sshCodeHash: str(r.ssh_code_hash), targetId: str(r.target_id), issuerId: str(r.issuer_id),
  policyId: strOrNull(r.policy_id), label: str(r.label), createdAt: num(r.created_at), expiresAt: num(r.expires_at), usesLeft: num(r.uses_left),
  uses: num(r.uses), sessionMaxMs: num(r.session_max_ms), level: str(r.level), status: str(r.status) === 'pending' ? 'pending' : 'active',
  approvedBy: strOrNull(r.approved_by), revokedAt: numOrNull(r.revoked_at), revokedBy: strOrNull(r.revoked_by),
});

export const ephemeralFromRow = (r: Row): EphemeralAccountRecord => ({
  id: str(r.id), targetId: str(r.target_id), grantId: str(r.grant_id), account: str(r.account), level: str(r.level),
  state: str(r.state) as EphemeralAccountRecord['state'], secretSealed: strOrNull(r.secret_sealed), createdAt: num(r.created_at),
  expiresAt: num(r.expires_at), dropAttempts: num(r.drop_attempts), lastError: strOrNull(r.last_error), droppedAt: numOrNull(r.dropped_at),
});

export const ephemeralToRow = (a: EphemeralAccountRecord): Row => ({
  id: a.id, target_id: a.targetId, grant_id: a.grantId, account: a.account, level: a.level, state: a.state,
  secret_sealed: a.secretSealed, created_at: a.createdAt, expires_at: a.expiresAt, drop_attempts: a.dropAttempts,
  last_error: a.lastError, dropped_at: a.droppedAt,
});

export const findingFromRow = (r: Row): DiscoveryFindingRecord => ({
  id: str(r.id), targetId: str(r.target_id), account: str(r.account), privileges: list(r.privileges), managed: num(r.managed) === 1,
  managedAs: strOrNull(r.managed_as), firstSeenAt: num(r.first_seen_at), lastSeenAt: num(r.last_seen_at), goneAt: numOrNull(r.gone_at),
});

export const findingToRow = (f: DiscoveryFindingRecord): Row => ({
  id: f.id, target_id: f.targetId, account: f.account, privileges: JSON.stringify(f.privileges), managed: f.managed ? 1 : 0,
  managed_as: f.managedAs, first_seen_at: f.firstSeenAt, last_seen_at: f.lastSeenAt, gone_at: f.goneAt,
});

export const ssoSessionFromRow = (r: Row): SsoSessionRecord => ({
  tokenId: str(r.token_id), userId: str(r.user_id), issuer: str(r.issuer), subject: str(r.subject), refreshSealed: strOrNull(r.refresh_sealed),
  groups: list(r.groups), refreshedAt: num(r.refreshed_at), expiresAt: num(r.expires_at),
});

export const ssoSessionToRow = (s: SsoSessionRecord): Row => ({
  token_id: s.tokenId, user_id: s.userId, issuer: s.issuer, subject: s.subject, refresh_sealed: s.refreshSealed,
  groups: JSON.stringify(s.groups), refreshed_at: s.refreshedAt, expires_at: s.expiresAt,
});

export const handoffFromRow = (r: Row): LoginHandoffRecord => {
  const p = JSON.parse(str(r.payload)) as Partial<LoginHandoffRecord['payload']>;
  return {
    id: str(r.id), kind: str(r.kind) === 'ssh' ? 'ssh' : 'cli', secretHash: str(r.secret_hash), state: str(r.state) as LoginHandoffRecord['state'],
    userId: strOrNull(r.user_id), tokenId: strOrNull(r.token_id),
    payload: { code: typeof p.code === 'string' ? p.code : '', sshUser: p.sshUser ?? null, sshTarget: p.sshTarget ?? null },
    addr: str(r.addr), createdAt: num(r.created_at), expiresAt: num(r.expires_at),
  };
};

export const handoffToRow = (h: LoginHandoffRecord): Row => ({
  id: h.id, kind: h.kind, secret_hash: h.secretHash, state: h.state, user_id: h.userId, token_id: h.tokenId,
  payload: JSON.stringify(h.payload), addr: h.addr, created_at: h.createdAt, expires_at: h.expiresAt,
});
