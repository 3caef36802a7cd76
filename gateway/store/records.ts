// Domain records as the store holds them. Times are epoch milliseconds. Secrets appear here only
// sealed (vault ciphertext strings); nothing in these shapes is ever a plaintext credential.

export type Role = 'admin' | 'approver' | 'investigator' | 'user';
export const ROLES: readonly Role[] = ['admin', 'approver', 'investigator', 'user'];

/** 'link' is never stored: it is the in-memory principal of a session opened through a one-time link. */
export type UserKind = 'human' | 'service' | 'link';

export interface UserRecord {
  id: string;
  name: string;
  kind: UserKind;
  roles: string[];
  passwordHash: string | null;
  /** SCRAM-SHA-256 verifier ("SCRAM-SHA-256$iter:salt$StoredKey:ServerKey") for database logins. */
  scramVerifier: string | null;
  /**
   * SHA1(SHA1(password)) hex, for mysql_native_password logins: unsalted, so kept only for users
   * who opted in (mysqlNative); null otherwise, or until the opted-in user's next password login.
   */
  nativeVerifier: string | null;
  /** Whether mysql_native_password logins are allowed for this user (`--mysql-native-password`). */
  mysqlNative: boolean;
  sshKeys: string[];
  /** Vault-sealed base32 TOTP secret, or null when not enrolled. */
  totpSealed: string | null;
  totpLastStep: number;
  disabled: boolean;
  createdAt: number;
  /** Where the account comes from: 'local' (made by an admin or the setup page) or 'oidc' (first single sign-on). */
  source: UserSource;
  /** For 'oidc' users: the identity provider's issuer and subject ("ISSUER#SUBJECT"), unique; null otherwise. */
  externalId: string | null;
}

export type UserSource = 'local' | 'oidc';

/** Every kind of target; each has one entry in the protocol registry (gateway/compose/protocols.ts). */
export const TARGET_KINDS = ['ssh', 'postgres', 'mysql'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];
export const isTargetKind = (s: string): s is TargetKind => (TARGET_KINDS as readonly string[]).includes(s);
export type CredentialKind = 'password' | 'private-key';
/**
 * How the upstream leg of a database target uses TLS. `disable`: none. `require`: encrypted; verified
 * only by a pin or a CA when one is given (without either it is refused unless the target opts in
 * with allowWeakUpstreamAuth). `verify-ca`: the chain must verify (CA, else the system CAs), any name.
 * `verify-full`: chain and host name. A pinned fingerprint replaces the chain/name checks.
 */
export type DbTlsMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';
export const DB_TLS_MODES: readonly DbTlsMode[] = ['disable', 'require', 'verify-ca', 'verify-full'];
export const isDbTlsMode = (s: string): s is DbTlsMode => (DB_TLS_MODES as readonly string[]).includes(s);

/**
 * static: the vaulted credential is the account every session logs in as. ephemeral: the vaulted
 * credential is a provisioner's, and each grant gets an account of its own on the target, created
 * for the grant and dropped when it ends (gateway/provision/).
 */
export type CredentialMode = 'static' | 'ephemeral';
export const CREDENTIAL_MODES: readonly CredentialMode[] = ['static', 'ephemeral'];
/** When a static credential is replaced by a fresh one on the target: after each session, daily, or only on demand. */
export type RotateMode = 'after-session' | 'daily' | 'off';
export const ROTATE_MODES: readonly RotateMode[] = ['after-session', 'daily', 'off'];

/**
 * A named level of privilege on a target, least privileged first in TargetRecord.levels. `grants`:
 * for databases the roles granted to the ephemeral account, for SSH the Unix groups of the
 * ephemeral user; empty for a level that adds nothing (and for static targets' single "default").
 */
export interface AccessLevel {
  name: string;
  grants: string[];
}
export const DEFAULT_LEVEL = 'default';

export interface TargetRecord {
  id: string;
  name: string;
  kind: TargetKind;
  host: string;
  port: number;
  account: string;
  credentialKind: CredentialKind;
  credentialSealed: string;
  /** Pinned SSH host key fingerprint, "SHA256:..." (ssh targets). */
  hostKey: string | null;
  database: string | null;
  tlsMode: DbTlsMode;
  /** PEM of the CA(s) the upstream certificate must chain to; null means the system CAs. */
  tlsCaPem: string | null;
  /** Pinned upstream certificate: "sha256:" + 64 lowercase hex of the SHA-256 of the leaf's DER. */
  tlsFingerprint: string | null;
  /**
   * Database targets: the upstream login may use methods that hand the vaulted password (or a
   * password equivalent) to whoever answers at the target's address: PostgreSQL cleartext, MD5 or
   * no authentication at all without verified TLS; MySQL cleartext or RSA exchange with an unpinned
   * key. Off by default; every session that uses one is audited (upstream.weak_auth).
   */
  allowWeakUpstreamAuth: boolean;
  /** MySQL targets: the pinned RSA key for password exchange without TLS, "sha256:" + hex of its DER SubjectPublicKeyInfo. */
  rsaKeyFingerprint: string | null;
  tags: string[];
  credentialMode: CredentialMode;
  /** At least one; the first is the least privileged and the default for requests and grants. */
  levels: AccessLevel[];
  rotate: RotateMode;
  /**
   * PostgreSQL ephemeral accounts: objects an account still owns when it is dropped are reassigned
   * to this role; null drops them with it.
   */
  ephemeralReassignTo: string | null;
  /** SSH ephemeral users: keep the home directory when the user is removed. */
  ephemeralKeepHome: boolean;
  /**
   * A rotation in progress: the new secret, sealed like credentialSealed, set on the target or about
   * to be, not yet verified. Null when no rotation is under way.
   */
  pendingCredentialSealed: string | null;
  /** When the static credential was last rotated (null: never). */
  rotatedAt: number | null;
  createdAt: number;
}

export interface AutoApprove {
  roles: string[];
  /** Weekdays 0 (Sunday) to 6; empty means every day. */
  days: number[];
  /** Hour window [fromHour, toHour) in UTC; null means any hour. */
  fromHour: number | null;
  toHour: number | null;
  onCall: string[];
  /**
   * The window in local time (issue 18; access/windows.ts). When set it is what counts: days and
   * hours above then only mirror it where they can (whole UTC hours) for older readers. Absent on
   * policies stored before it: their days and hours are read as UTC.
   */
  window?: AccessWindow | null;
}

/**
 * A weekly window in a time zone ("mon-fri 09:00-17:00 Europe/Berlin"): the days it opens on and
 * the minutes of the day it spans, read on the zone's wall clock. from > to crosses midnight (the
 * part after midnight belongs to the day it started on); null from/to: the whole day.
 */
export interface AccessWindow {
  /** Weekdays 0 (Sunday) to 6; empty: every day. */
  days: number[];
  /** Minutes after midnight, [from, to); null: any time of day. */
  fromMinute: number | null;
  toMinute: number | null;
  /** IANA time zone name; "UTC" when none was given. */
  zone: string;
}

export interface PolicyRecord {
  id: string;
  name: string;
  roles: string[];
  targets: string[];
  targetTags: string[];
  maxDurationMs: number;
  requireReason: boolean;
  ticketPattern: string | null;
  approvalsRequired: number;
  approverRoles: string[];
  autoApprove: AutoApprove | null;
  breakglass: boolean;
  recordKeystrokes: boolean;
  allowPortForwarding: boolean;
  /** Keep all output of commands run without a terminal, not just its first and last 64 KiB. */
  captureFullOutput: boolean;
  /** End the session when it cannot be recorded (fail closed); false lets it go on unrecorded. */
  recordingRequired: boolean;
  /** Holders of this policy may issue one-time vendor links for its targets (TTL up to maxDuration). */
  allowLinks: boolean;
  /** Levels this policy covers (names on the targets it names); empty: every level. */
  levels: string[];
  /** The ticket system's endpoint that must confirm a request's ticket (POST, JSON); null: not checked. */
  ticketCheck: string | null;
  /** When grants under this policy may be used; null: any time. Sessions are cut at the window's end. */
  window: AccessWindow | null;
  createdAt: number;
}

export type RequestStatus = 'pending' | 'approved' | 'denied' | 'expired';

export interface RequestRecord {
  id: string;
  userId: string;
  targetId: string;
  policyId: string;
  durationMs: number;
  /** The access level asked for (a name in the target's levels). */
  level: string;
  reason: string;
  ticket: string | null;
  status: RequestStatus;
  createdAt: number;
  pendingUntil: number;
  decidedAt: number | null;
  decidedBy: string | null;
  denyReason: string | null;
  grantId: string | null;
  autoApproved: boolean;
  /** The ticket system's answer when the policy names a ticket check; null otherwise. */
  ticketCheck: TicketCheckResult | null;
}

export interface TicketCheckResult {
  valid: boolean;
  /** The endpoint's reason, or ours (timeout, bad answer), cleaned of control characters. */
  reason: string | null;
  url: string;
  checkedAt: number;
}

export interface ApprovalRecord {
  subjectId: string;
  approverId: string;
  kind: 'request' | 'extend' | 'review';
  at: number;
}

export type GrantSource = 'request' | 'admin' | 'breakglass' | 'link';

export interface GrantRecord {
  id: string;
  userId: string;
  targetId: string;
  requestId: string | null;
  policyId: string | null;
  source: GrantSource;
  /** The access level granted (a name in the target's levels). */
  level: string;
  startsAt: number;
  expiresAt: number;
  reason: string;
  ticket: string | null;
  approvers: string[];
  revokedAt: number | null;
  revokedBy: string | null;
  revokeReason: string | null;
  needsReview: boolean;
  reviewedBy: string | null;
  reviewedAt: number | null;
  /** SCRAM verifier of a one-time database password issued for this grant (`portcullis db-password`). */
  dbVerifier: string | null;
  createdAt: number;
}

/**
 * One single sign-on, keyed by the API token (console session) it issued: what the periodic
 * refresh needs to ask the identity provider again and to end the sign-in when it says no.
 */
export interface SsoSessionRecord {
  tokenId: string;
  userId: string;
  issuer: string;
  subject: string;
  /** The refresh token, sealed by the vault (bound to tokenId); null when the provider gave none. */
  refreshSealed: string | null;
  /** The groups the provider last said the user is in. */
  groups: string[];
  refreshedAt: number;
  /** The issued token's expiry: the row is useless after it. */
  expiresAt: number;
}

export interface ApiTokenRecord {
  id: string;
  userId: string;
  hash: string;
  label: string;
  expiresAt: number | null;
  createdAt: number;
}

/**
 * A login approved in a signed-in browser (issue 18): the CLI's `login --sso`, or an SSH
 * keyboard-interactive login. Whoever began it holds the secret (only its hash is here); the id is
 * what the browser's URL carries; the code is shown on both sides. State moves pending → approved
 * | denied, then approved → consumed, each step once; expired is read from expiresAt.
 */
export interface LoginHandoffRecord {
  id: string;
  kind: LoginHandoffKind;
  /** SHA-256 (hex) of the 256-bit secret the beginner polls with. */
  secretHash: string;
  state: LoginHandoffState;
  /** The user who approved or denied it; null while pending. */
  userId: string | null;
  /** The API token a consumed CLI handoff issued (its id, never the token). */
  tokenId: string | null;
  payload: LoginHandoffPayload;
  /** Where it was begun from (shown to the approver). */
  addr: string;
  createdAt: number;
  expiresAt: number;
}

export type LoginHandoffKind = 'cli' | 'ssh';
export type LoginHandoffState = 'pending' | 'approved' | 'denied' | 'consumed';

export interface LoginHandoffPayload {
  /** The short code shown where the login began and on the approval page (not a secret). */
  code: string;
  /** SSH: the account and target named in the SSH user name; null for the CLI. */
  sshUser: string | null;
  sshTarget: string | null;
}

export interface AuditRow {
  seq: number;
  ts: number;
  code: string;
  actor: string;
  data: string;
  prevHash: string;
  hash: string;
}

export interface SessionRecord {
  id: string;
  protocol: string;
  userId: string | null;
  targetId: string;
  grantId: string | null;
  /** The access level the session ran at (null for sessions recorded before levels existed). */
  level: string | null;
  clientAddr: string;
  startedAt: number;
  endedAt: number | null;
  endReason: string | null;
  recording: string | null;
  /** The gateway node that brokers (brokered) the session; null for sessions from before several nodes. */
  node: string | null;
  /** Sum of the weights of the session's flags (SessionFlagRecord); read back always, 0 when absent at insert. */
  riskScore?: number;
}

/** What a guardrail rule looks at: SQL statements (parse trees) or SSH commands and typed lines. */
export type RuleKind = 'sql' | 'command';
export type RuleAction = 'deny' | 'flag';

/** A guardrail rule (DESIGN 3d). Exactly one of `class` and `match` is set. */
export interface RuleRecord {
  id: string;
  name: string;
  kind: RuleKind;
  /** A built-in class (sql: ddl, drop, truncate, unbounded-write, grant, copy-program, alter-system, function:NAME). */
  class: string | null;
  /** A regex (sql: on the normalized statement; command: a regex or a shell-word glob, see rules/command-matcher.ts). */
  match: string | null;
  action: RuleAction;
  /** Target names and `tag:NAME` entries; empty: every target. */
  targets: string[];
  /** Roles the rule applies to (any of them); empty: everyone. */
  roles: string[];
  /** Access levels it applies to; empty: every level. */
  levels: string[];
  /** Shown to the user on deny (a default naming the rule when null). */
  message: string | null;
  /** What a statement the parser cannot read does under this rule (sql rules). */
  unparsable: 'deny' | 'allow';
  createdAt: number;
  createdBy: string;
}

/**
 * Why a session is flagged. `rule`: a deny or flag rule matched; the rest are computed from the
 * session and the user's history (rules/risk).
 */
export type SessionFlagKind = 'rule' | 'off-hours' | 'first-use' | 'new-address' | 'mass-export' | 'break-glass' | 'failed-logins' | 'vendor-link';

export interface SessionFlagRecord {
  id: string;
  sessionId: string;
  kind: SessionFlagKind;
  /** Dedupe key within the kind (e.g. the rule's name): one flag per (session, kind, key). */
  key: string;
  /** Human-readable: what was seen. Never a secret (a masked line never reaches a rule). */
  detail: string;
  weight: number;
  at: number;
}

/**
 * A gateway node of the cluster (one row per node name). `incarnation` is new at every start: a node
 * that was marked lost and comes back under the same name is a new incarnation, and the old one's
 * heartbeats stop counting.
 */
export interface NodeRecord {
  name: string;
  incarnation: string;
  state: 'up' | 'left' | 'lost';
  /** The software version it runs (rolling upgrades show here). */
  version: string;
  startedAt: number;
  heartbeatAt: number;
  /** When it left or was found lost. */
  endedAt: number | null;
}

/** A gateway-made MySQL connection id of a live session, so a KILL on any node finds its thread. */
export interface MysqlConnectionRecord {
  id: number;
  node: string;
  sessionId: string;
  userId: string;
  targetId: string;
  /** The target's thread id. */
  upstreamId: number;
}

/**
 * A one-time link: a browser terminal (or one-time SSH login) to one target for someone without a
 * gateway account. Only hashes of the token and of its SSH code are stored.
 */
export interface LinkRecord {
  id: string;
  tokenHash: string;
  sshCodeHash: string;
  targetId: string;
  issuerId: string;
  policyId: string | null;
  label: string;
  createdAt: number;
  expiresAt: number;
  usesLeft: number;
  uses: number;
  sessionMaxMs: number;
  /** The access level sessions opened through the link run at. */
  level: string;
  /** pending: waits for an approver; active: can be opened while uses are left. */
  status: 'pending' | 'active';
  approvedBy: string | null;
  revokedAt: number | null;
  revokedBy: string | null;
}

/**
 * The intent log of ephemeral accounts (gateway/provision/). A row is written before the account
 * is created on the target, so a crash at any point leaves a row the reconciler finds and drops.
 * creating: being created (or the gateway died while creating it); active: usable by the grant's
 * sessions; dropping: the grant ended, the account is being removed (retried until it is);
 * dropped: gone from the target.
 */
export type EphemeralState = 'creating' | 'active' | 'dropping' | 'dropped';

export interface EphemeralAccountRecord {
  id: string;
  targetId: string;
  grantId: string;
  /** The account's name on the target (role, user, Unix user). */
  account: string;
  level: string;
  state: EphemeralState;
  /** Its login secret (password or private key), vault-sealed; null until created, and after the drop. */
  secretSealed: string | null;
  createdAt: number;
  /** The grant's end when the account was created (the reconciler also drops it early when the grant ends early). */
  expiresAt: number;
  /** Failed drop attempts so far (an alert goes out after a configured number). */
  dropAttempts: number;
  lastError: string | null;
  droppedAt: number | null;
}

/** A privileged account found on a target by discovery, as last seen. */
export interface DiscoveryFindingRecord {
  id: string;
  targetId: string;
  account: string;
  /** What makes it privileged: "superuser", "createrole", "grant-option", "uid-0", "sudo", "authorized-keys"... */
  privileges: string[];
  /** Portcullis manages it (the vaulted or provisioner account, or an ephemeral account of a live grant). */
  managed: boolean;
  /** Why it counts as managed, or null. */
  managedAs: string | null;
  firstSeenAt: number;
  lastSeenAt: number;
  /** No longer found by the latest discovery of its target. */
  goneAt: number | null;
}
