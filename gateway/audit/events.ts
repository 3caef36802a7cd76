// Typed audit events with stable codes. The code string is the contract (exports, SIEM rules);
// each code has one data shape. No shape has a field for a secret, so none can be logged by mistake.

/** A ticket system's answer as audited (access/ticket-check.ts); `reason` is ours when it gave none usable. */
export interface TicketCheckAudit { valid: boolean; reason: string | null; url: string }

export interface AuditEventMap {
  /** `source`: 'oidc' for a user made at their first single sign-on (absent: local, made by an admin). */
  'user.created': { user: string; roles: string[]; kind: string; source?: 'local' | 'oidc' };
  'user.removed': { user: string };
  'user.updated': { user: string; change: 'password' | 'totp-enrolled' | 'totp-removed' | 'ssh-key-added' | 'disabled' | 'enabled' | 'roles'
    | 'mysql-native-enabled' | 'mysql-native-disabled' };
  'auth.succeeded': { user: string; method: string; addr: string };
  'auth.failed': { user: string; method: string; addr: string; reason: string };
  /**
   * A login budget ran out (once per lock): `scope` pair = this name from this address, account =
   * this name from anywhere (password guesses; keys still work), address = this address, any name.
   * Older entries have no scope (they were all pair locks).
   */
  'auth.locked': { user: string; addr: string; until: number; scope?: 'pair' | 'account' | 'address' };
  'token.created': { user: string; label: string; tokenId: string };
  /** Every API token and web session of the user ended (a password change or reset); `count` of them. */
  'token.revoked_all': { user: string; by: string; count: number; reason: 'password-changed' | 'password-reset' };
  /** An SSH user certificate for a signed-in user's key (issue 18): `keyId` names the sign-in (token id); `serial` as a decimal string (uint64); `validBefore` in ms. */
  'ssh_certificate.issued': { user: string; serial: string; keyId: string; fingerprint: string; validBefore: number };
  /** Database targets also say how their TLS is verified; `allowWeakUpstreamAuth`: the named opt-in (upstream.weak_auth per use). */
  'target.created': {
    target: string; kind: string; host: string; port: number; allowWeakUpstreamAuth: boolean; rsaKeyFingerprint?: string;
    tls?: string; tls_ca?: boolean; tls_fingerprint?: string | null;
    /** Issue 15 (absent on older entries): static or ephemeral, the levels as written (`read=pc_read write=...`), rotation. */
    credentialMode?: string; levels?: string; rotate?: string;
  };
  'target.removed': { target: string };
  /** Changed in place: field names, and the old and new value of each (never the credential). */
  'target.updated': { target: string; changed: string[]; credential: 'replaced' | 'kept'; from: Record<string, string | number | null>; to: Record<string, string | number | null> };
  'target.tested': { target: string; ok: boolean; detail: string; tls?: string };
  'policy.created': { policy: string };
  /**
   * A guardrail rule was added (gateway/rules/rule-service.ts): the whole rule as checked, so the
   * audit alone says what was enforced from when. `class` or `match` is null (exactly one is set).
   */
  'rule.added': {
    rule: string; kind: string; action: string; class: string | null; match: string | null; targets: string[]; roles: string[]; levels: string[];
    message: string | null; unparsable: string;
  };
  /** A rule was removed; its kind, action and class or pattern, so a removed guardrail stays readable in the audit. */
  'rule.removed': { rule: string; kind: string; action: string; class: string | null; match: string | null };
  'policy.removed': { policy: string };
  /** Replaced in place (same id); `revoked` and `shortened` count the grants it narrowed. */
  'policy.updated': { policy: string; revoked: number; shortened: number };
  'request.created': { request: string; user: string; target: string; duration: number; reason: string; ticket: string | null; policy: string; level?: string; ticketCheck?: TicketCheckAudit };
  'request.approved': { request: string; approver: string; approvals: number; needed: number };
  'request.denied': { request: string; approver: string; reason: string };
  'request.expired': { request: string };
  /** `ticketCheck`: the ticket system's answer (or why there was none) when that is what refused it. */
  'request.refused': { user: string; target: string; code: string; message: string; level?: string; ticketCheck?: TicketCheckAudit };
  'grant.created': { grant: string; user: string; target: string; source: string; expiresAt: number; reason: string; ticket: string | null; approvers: string[]; level?: string };
  /** `cause` says what took the access away when it was not a plain revoke (user-disabled, target-removed, ...). */
  'grant.revoked': { grant: string; by: string; reason: string; cause?: string };
  /** A narrowed policy cut the time left on a grant that stands on it. */
  'grant.shortened': { grant: string; by: string; expiresAt: number; reason: string };
  'grant.extended': { grant: string; by: string; expiresAt: number };
  'grant.expired': { grant: string };
  'grant.db_password': { grant: string; user: string; target: string };
  'grant.reviewed': { grant: string; by: string; verdict: 'accepted' | 'denied'; reason: string };
  'breakglass.used': { grant: string; user: string; target: string; reason: string; expiresAt: number; level?: string };
  'approval.refused': { subject: string; approver: string; code: string };
  /** `level`: the level asked for in USER+TARGET+LEVEL (absent when none was named). */
  'access.denied': { user: string; target: string; protocol: string; code: string; addr: string; level?: string };
  'session.started': { session: string; user: string; target: string; protocol: string; grant: string | null; addr: string; link?: { id: string; label: string; issuer: string }; level?: string };
  'session.ended': { session: string; reason: string };
  'session.killed': { session: string; by: string };
  /** `detail` is the admin-facing why (e.g. which certificate was refused); never a secret. */
  'session.upstream_failed': { session: string; target: string; reason: string; detail?: string };
  /** The upstream login used a weak method the target opted in to (method: see session/upstream-auth.ts). */
  'upstream.weak_auth': { session: string; target: string; method: string };
  'session.statements': { session: string; count: number };
  'session.gated': { session: string; verdict: 'deny' | 'flag'; rule: string; command: string };
  /**
   * The session got a risk flag (gateway/risk/), once per (session, flag, key): `detail` is what was
   * seen, bounded and never a masked line; `score` the session's risk score with it.
   */
  'session.flagged': { session: string; flag: string; key: string; detail: string; weight: number; score: number };
  'credential.revoke_failed': { session: string; target: string; source: string; error: string };
  /**
   * A target's static credential was replaced on the target, verified by a fresh login, and
   * committed to the vault (gateway/provision/rotation.ts). `trigger` recovery: a rotation a crash
   * interrupted was found done at start and committed. `oldKeyRetired`: keys only.
   */
  'credential.rotated': { target: string; trigger: 'manual' | 'after-session' | 'daily' | 'recovery'; verified: boolean; oldKeyRetired?: boolean };
  /**
   * A rotation failed at `step`; `outcome` says what the vault holds now: kept-old (the change never
   * happened or was undone), committed-new (the new secret works and was kept), stuck (neither logs in:
   * both kept, no rotation until an admin enters the credential again). `reason` is never a secret.
   */
  'credential.rotation_failed': { target: string; trigger: string; step: string; reason: string; outcome: 'kept-old' | 'committed-new' | 'stuck' };
  'recording.viewed': { session: string; file: string; by: string };
  /** An admin decrypted a sealed masked-input span; never the text itself. */
  'session.revealed': { session: string; channel: number; span: number; t: number; by: string; reason: string | null };
  'session.forward': { session: string; host: string; port: number; allowed: boolean; bytesIn: number; bytesOut: number };
  /** `oldKey`: whether master.key.old was removed after the rotation was verified. */
  'vault.rotated': { keyId: string; resealed: number; oldKey?: 'removed' | 'kept' | 'kept-unverified' };
  /** The one start that moved target credentials to the bound format; `left`: targets whose credential must be entered again. */
  'vault.credentials_bound': { migrated: number; left: string[] };
  'api.denied': { user: string; route: string; code: string };
  /** A page on another origin used a signed-in user's session (WebSocket or a change); refused, 403. */
  'http.origin_refused': { user: string; path: string; origin: string | null; reason: string; addr: string; kind: 'upgrade' | 'request' };
  'link.created': { link: string; target: string; issuer: string; label: string; expiresAt: number; uses: number; sessionMaxMs: number; status: string; level?: string };
  'link.approved': { link: string; by: string };
  'link.revoked': { link: string; by: string };
  'link.opened': { link: string; target: string; label: string; issuer: string; via: 'browser' | 'ssh'; grant: string; addr: string };
  'link.refused': { link: string | null; addr: string; code: string };
  /**
   * A login to be approved in a signed-in browser (gateway/identity/handoffs.ts): begun by the CLI
   * (`login --sso`) or an SSH keyboard-interactive login; `addr` where it was begun. Never the secret.
   */
  'login.handoff_begun': { handoff: string; kind: 'cli' | 'ssh'; addr: string; code: string; ssh_user?: string; ssh_target?: string | null };
  /** Approved or denied by `by`, signed in to the console at `addr`. */
  'login.handoff_approved': { handoff: string; kind: 'cli' | 'ssh'; by: string; addr: string; from: string };
  'login.handoff_denied': { handoff: string; kind: 'cli' | 'ssh'; by: string; addr: string; from: string };
  /** An approval refused: the signed-in user is not the SSH login's user, or the handoff is no longer pending. */
  'login.handoff_refused': { handoff: string; kind: 'cli' | 'ssh'; by: string; addr: string; code: string };
  /** The approved login was taken by whoever began it: an API token (`token`, its id) for the CLI, an SSH login. */
  'login.handoff_consumed': { handoff: string; kind: 'cli' | 'ssh'; user: string; addr: string; token: string | null };
  'recordings.space_low': { dir: string; free: number; total: number; watermark: number; error?: string };
  'recordings.space_restored': { dir: string; free: number; total: number; watermark: number };
  /** An ephemeral account was created on the target for a grant (never its secret). */
  'ephemeral.created': { target: string; grant: string; account: string; level: string };
  /** Creating a grant's account failed; `account` is null when nothing was attempted on the target. */
  'ephemeral.create_failed': { target: string; grant: string; account: string | null; level: string; error: string };
  /** The account is gone from the target; `reason` says why it was dropped (grant-expired, grant-revoked, user-disabled, ...). */
  'ephemeral.dropped': { target: string; grant: string; account: string; level: string; reason: string; attempts: number };
  /** A drop failed; retried by the reconciler. `attempts` counts failures so far. */
  'ephemeral.drop_failed': { target: string; grant: string; account: string; attempts: number; error: string };
  /** Portcullis stopped trying to drop the account (its target was removed with --force, or is gone): it may still exist there. */
  'ephemeral.abandoned': { target: string; grant: string; account: string; by: string; reason: string };
  /** Discovery listed a target's privileged accounts (gateway/provision/discovery.ts); counts only. */
  'discovery.ran': { target: string; by: string; trigger: 'admin' | 'schedule'; accounts: number; unmanaged: number; new_unmanaged: number; gone: number };
  /** A privileged account Portcullis does not manage, not seen before (or gone and back): a standing account to remove. */
  'discovery.unmanaged_found': { target: string; account: string; privileges: string[]; trigger: 'admin' | 'schedule' };
  /** Discovery could not log in or list the accounts; `error` is the admin-facing why (never a secret). */
  'discovery.failed': { target: string; by: string; trigger: 'admin' | 'schedule'; error: string };
  /** A node stopped beating (several nodes): `by`, the node that found it, ended its `sessions` live sessions as node-lost. */
  'node.lost': { node: string; by: string; sessions: number; lastHeartbeat: number };
  /** A single sign-on through the identity provider `issuer` (subject `subject`) ended signed in as `user` with `roles`. */
  'sso.signed_in': { user: string; issuer: string; subject: string; roles: string[]; addr: string };
  /**
   * A single sign-on or its refresh was refused: `reason` is a stable word (missing-groups,
   * no-mapped-group, name-taken, bad-name, no-username, disabled, provider-refused, refresh-refused,
   * state-reused, flow-missing, sso-only), `detail` the words the person saw.
   */
  'sso.refused': { user: string | null; issuer: string; subject: string | null; reason: string; detail: string; addr: string };
  /** First run: the setup link created the first human admin `user` (from the browser at `addr`). */
  'setup.completed': { user: string; addr: string };
}

export type AuditCode = keyof AuditEventMap;

export const AUDIT_CODES = [
  'user.created', 'user.removed', 'user.updated', 'auth.succeeded', 'auth.failed', 'auth.locked', 'token.created', 'token.revoked_all', 'ssh_certificate.issued',
  'target.created', 'target.removed', 'target.updated', 'target.tested', 'policy.created', 'policy.removed', 'policy.updated', 'rule.added', 'rule.removed', 'request.created',
  'request.approved', 'request.denied', 'request.expired', 'request.refused', 'grant.created', 'grant.revoked',
  'grant.extended', 'grant.shortened', 'grant.expired', 'grant.reviewed', 'grant.db_password', 'breakglass.used', 'approval.refused', 'access.denied',
  'session.started', 'session.ended', 'session.killed', 'session.upstream_failed', 'upstream.weak_auth', 'session.forward', 'session.statements', 'session.gated', 'session.flagged', 'credential.revoke_failed', 'credential.rotated', 'credential.rotation_failed', 'recording.viewed', 'session.revealed', 'vault.rotated', 'vault.credentials_bound', 'api.denied',
  'http.origin_refused',
  'link.created', 'link.approved', 'link.revoked', 'link.opened', 'link.refused',
  'login.handoff_begun', 'login.handoff_approved', 'login.handoff_denied', 'login.handoff_refused', 'login.handoff_consumed',
  'recordings.space_low', 'recordings.space_restored',
  'ephemeral.created', 'ephemeral.create_failed', 'ephemeral.dropped', 'ephemeral.drop_failed', 'ephemeral.abandoned',
  'discovery.ran', 'discovery.unmanaged_found', 'discovery.failed',
  'node.lost',
  'sso.signed_in', 'sso.refused',
  'setup.completed',
] as const satisfies readonly AuditCode[];
