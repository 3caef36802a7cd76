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
}

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
  createdAt: number;
}

export type RequestStatus = 'pending' | 'approved' | 'denied' | 'expired';

export interface RequestRecord {
  id: string;
  userId: string;
  targetId: string;
  policyId: string;
  durationMs: number;
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

export interface ApiTokenRecord {
  id: string;
  userId: string;
  hash: string;
  label: string;
  expiresAt: number | null;
  createdAt: number;
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
  clientAddr: string;
  startedAt: number;
  endedAt: number | null;
  endReason: string | null;
  recording: string | null;
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
  /** pending: waits for an approver; active: can be opened while uses are left. */
  status: 'pending' | 'active';
  approvedBy: string | null;
  revokedAt: number | null;
  revokedBy: string | null;
}
