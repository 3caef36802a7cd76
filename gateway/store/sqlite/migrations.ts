// Schema migrations, applied in order and recorded in PRAGMA user_version. Append only: a shipped
// migration is never edited, a change is a new entry.
import type Database from 'better-sqlite3';
import { PortcullisError } from '../../util/errors.js';

const MIGRATIONS: string[] = [
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, roles TEXT NOT NULL,
    password_hash TEXT, ssh_keys TEXT NOT NULL, totp_sealed TEXT, totp_last_step INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL
  );
  CREATE TABLE targets (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, host TEXT NOT NULL, port INTEGER NOT NULL,
    account TEXT NOT NULL, credential_kind TEXT NOT NULL, credential_sealed TEXT NOT NULL, host_key TEXT,
    database TEXT, tls_mode TEXT NOT NULL, tls_ca_pem TEXT, tags TEXT NOT NULL, created_at INTEGER NOT NULL
  );
  CREATE TABLE policies (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, body TEXT NOT NULL, created_at INTEGER NOT NULL
  );
  CREATE TABLE requests (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, target_id TEXT NOT NULL, policy_id TEXT NOT NULL,
    duration_ms INTEGER NOT NULL, reason TEXT NOT NULL, ticket TEXT, status TEXT NOT NULL,
    created_at INTEGER NOT NULL, pending_until INTEGER NOT NULL, decided_at INTEGER, decided_by TEXT,
    deny_reason TEXT, grant_id TEXT, auto_approved INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX requests_status ON requests(status, pending_until);
  CREATE TABLE approvals (
    subject_id TEXT NOT NULL, approver_id TEXT NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL
  );
  CREATE INDEX approvals_subject ON approvals(subject_id, kind);
  CREATE TABLE grants (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, target_id TEXT NOT NULL, request_id TEXT, policy_id TEXT,
    source TEXT NOT NULL, starts_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, reason TEXT NOT NULL,
    ticket TEXT, approvers TEXT NOT NULL, revoked_at INTEGER, revoked_by TEXT, revoke_reason TEXT,
    needs_review INTEGER NOT NULL DEFAULT 0, reviewed_by TEXT, reviewed_at INTEGER, created_at INTEGER NOT NULL
  );
  CREATE INDEX grants_active ON grants(user_id, target_id, expires_at);
  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, label TEXT NOT NULL,
    expires_at INTEGER, created_at INTEGER NOT NULL
  );
  CREATE TABLE audit (
    seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, code TEXT NOT NULL, actor TEXT NOT NULL,
    data TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
  );
  -- Append-only at the database level too: the hash chain detects tampering, these make the
  -- ordinary code path unable to do it by mistake.
  CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
  CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY, protocol TEXT NOT NULL, user_id TEXT, target_id TEXT NOT NULL, grant_id TEXT,
    client_addr TEXT NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER, end_reason TEXT, recording TEXT
  );
  CREATE INDEX sessions_started ON sessions(started_at);
  `,
  // 2: a SCRAM-SHA-256 verifier per user, so database clients can authenticate to the gateway.
  `ALTER TABLE users ADD COLUMN scram_verifier TEXT;`,
  // 3: a per-grant database password (SCRAM verifier only) for users whose logins need a second factor.
  `ALTER TABLE grants ADD COLUMN db_verifier TEXT;`,
  // 4: SHA1(SHA1(password)) for MySQL clients that only speak mysql_native_password.
  `ALTER TABLE users ADD COLUMN native_verifier TEXT;`,
  // 5: full-text search over what happened in sessions: typed commands, output lines, SQL.
  `CREATE VIRTUAL TABLE recording_text USING fts5(session_id UNINDEXED, t UNINDEXED, kind UNINDEXED, text, tokenize = 'unicode61');`,
  // 6: one-time links for vendors (hashes of the token and of its SSH code only).
  `CREATE TABLE links (
    id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, ssh_code_hash TEXT NOT NULL UNIQUE, target_id TEXT NOT NULL,
    issuer_id TEXT NOT NULL, policy_id TEXT, label TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    uses_left INTEGER NOT NULL, uses INTEGER NOT NULL, session_max_ms INTEGER NOT NULL, status TEXT NOT NULL,
    approved_by TEXT, revoked_at INTEGER, revoked_by TEXT
  );`,
  // 7: keys that seal masked terminal input in recordings, each sealed by the vault's master key.
  `CREATE TABLE recording_keys (id TEXT PRIMARY KEY, sealed TEXT NOT NULL, created_at INTEGER NOT NULL);`,
  // 8: how far a database target's upstream login may trust the server: weak methods opt-in per
  // target (existing targets get the safe default), and a pinned MySQL RSA key.
  `ALTER TABLE targets ADD COLUMN allow_weak_upstream_auth INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE targets ADD COLUMN rsa_key_fingerprint TEXT;`,
  // 9: mysql_native_password becomes opt-in per user; its unsalted SHA1(SHA1(password)) is kept only
  // for users who opt in. Existing users keep theirs only when the audit log shows a native login
  // (their clients may speak nothing else); everyone else's is dropped now.
  `ALTER TABLE users ADD COLUMN mysql_native INTEGER NOT NULL DEFAULT 0;
  UPDATE users SET mysql_native = 1 WHERE native_verifier IS NOT NULL AND name IN (
    SELECT json_extract(data, '$.user') FROM audit WHERE code = 'auth.succeeded' AND json_extract(data, '$.method') = 'mysql-native');
  UPDATE users SET native_verifier = NULL WHERE mysql_native = 0;`,
  // 10: database targets can pin the upstream certificate. Existing targets keep their TLS mode (a
  // 'require' target without a CA or pin is then refused at session start until it gets one or opts in).
  `ALTER TABLE targets ADD COLUMN tls_fingerprint TEXT;`,
  // 11: zero standing privilege. Targets: static or ephemeral credentials, access levels (least
  // privileged first), rotation of static credentials with its pending secret. The level on every
  // grant, request, link and session (existing ones: "default"; old sessions: unknown). The intent
  // log of ephemeral accounts (at most one live account per grant) and discovery's findings.
  `ALTER TABLE targets ADD COLUMN credential_mode TEXT NOT NULL DEFAULT 'static';
   ALTER TABLE targets ADD COLUMN levels TEXT NOT NULL DEFAULT '[{"name":"default","grants":[]}]';
   ALTER TABLE targets ADD COLUMN rotate TEXT NOT NULL DEFAULT 'off';
   ALTER TABLE targets ADD COLUMN ephemeral_reassign_to TEXT;
   ALTER TABLE targets ADD COLUMN ephemeral_keep_home INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE targets ADD COLUMN pending_credential_sealed TEXT;
   ALTER TABLE targets ADD COLUMN rotated_at INTEGER;
   ALTER TABLE grants ADD COLUMN level TEXT NOT NULL DEFAULT 'default';
   ALTER TABLE requests ADD COLUMN level TEXT NOT NULL DEFAULT 'default';
   ALTER TABLE links ADD COLUMN level TEXT NOT NULL DEFAULT 'default';
   ALTER TABLE sessions ADD COLUMN level TEXT;
   CREATE TABLE ephemeral_accounts (
     id TEXT PRIMARY KEY, target_id TEXT NOT NULL, grant_id TEXT NOT NULL, account TEXT NOT NULL, level TEXT NOT NULL,
     state TEXT NOT NULL, secret_sealed TEXT, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
     drop_attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, dropped_at INTEGER
   );
   CREATE UNIQUE INDEX ephemeral_live_grant ON ephemeral_accounts(grant_id) WHERE state <> 'dropped';
   CREATE INDEX ephemeral_state ON ephemeral_accounts(state, target_id);
   CREATE TABLE discovery_findings (
     id TEXT PRIMARY KEY, target_id TEXT NOT NULL, account TEXT NOT NULL, privileges TEXT NOT NULL, managed INTEGER NOT NULL,
     managed_as TEXT, first_seen_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL, gone_at INTEGER
   );
   CREATE UNIQUE INDEX discovery_account ON discovery_findings(target_id, account);`,
  // 12: several nodes. Which node brokers each session; the nodes and their heartbeats; claims of
  // once-per-cluster work; cluster settings and shared sealed files; MySQL connection ids of every node.
  `ALTER TABLE sessions ADD COLUMN node TEXT;
   CREATE INDEX sessions_node_live ON sessions(node) WHERE ended_at IS NULL;
   CREATE TABLE nodes (
     name TEXT PRIMARY KEY, incarnation TEXT NOT NULL, state TEXT NOT NULL, version TEXT NOT NULL,
     started_at INTEGER NOT NULL, heartbeat_at INTEGER NOT NULL, ended_at INTEGER
   );
   CREATE TABLE claims (key TEXT PRIMARY KEY, node TEXT NOT NULL, at INTEGER NOT NULL);
   CREATE INDEX claims_at ON claims(at);
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE mysql_connections (
     id INTEGER PRIMARY KEY, node TEXT NOT NULL, session_id TEXT NOT NULL, user_id TEXT NOT NULL,
     target_id TEXT NOT NULL, upstream_id INTEGER NOT NULL
   );`,
  // 13: guardrails and risk. Rules (deny or flag SQL statements and commands); each session's
  // flags (one row per flag) and the risk score they add up to, kept on the session for sorting.
  `CREATE TABLE rules (
     id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, class TEXT, match TEXT, action TEXT NOT NULL,
     targets TEXT NOT NULL, roles TEXT NOT NULL, levels TEXT NOT NULL, message TEXT, unparsable TEXT NOT NULL,
     created_at INTEGER NOT NULL, created_by TEXT NOT NULL
   );
   ALTER TABLE sessions ADD COLUMN risk_score INTEGER NOT NULL DEFAULT 0;
   CREATE INDEX sessions_risk ON sessions(risk_score) WHERE risk_score > 0;
   CREATE TABLE session_flags (
     id TEXT PRIMARY KEY, session_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, detail TEXT NOT NULL,
     weight INTEGER NOT NULL, at INTEGER NOT NULL
   );
   CREATE UNIQUE INDEX session_flags_once ON session_flags(session_id, kind, key);`,
  // 14: people. Users signed in through an identity provider (source 'oidc', the issuer+subject
  // as external_id); each single sign-on's refresh state, keyed by the API token it issued; login
  // handoffs (a CLI or SSH login approved in a signed-in browser); the ticket system's answer kept
  // with each request.
  `ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local';
   ALTER TABLE users ADD COLUMN external_id TEXT;
   CREATE UNIQUE INDEX users_external ON users(external_id) WHERE external_id IS NOT NULL;
   CREATE TABLE sso_sessions (
     token_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, issuer TEXT NOT NULL, subject TEXT NOT NULL,
     refresh_sealed TEXT, groups TEXT NOT NULL, refreshed_at INTEGER NOT NULL, expires_at INTEGER NOT NULL
   );
   CREATE INDEX sso_sessions_user ON sso_sessions(user_id);
   CREATE TABLE login_handoffs (
     id TEXT PRIMARY KEY, kind TEXT NOT NULL, secret_hash TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
     user_id TEXT, token_id TEXT, payload TEXT NOT NULL, addr TEXT NOT NULL, created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX login_handoffs_expiry ON login_handoffs(expires_at);
   ALTER TABLE requests ADD COLUMN ticket_check TEXT;`,
];

/** The schema version this build writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Applies every migration not applied yet; `upTo` stops at that version (tests of one migration). */
export function migrate(db: Database.Database, upTo = MIGRATIONS.length): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  // A newer build's schema: its columns mean things this build does not know; writing it would lose them.
  if (current > MIGRATIONS.length) {
    throw new PortcullisError('conflict', `the store's schema is version ${current}, newer than this build's ${MIGRATIONS.length}: upgrade portcullis before starting this node`);
  }
  for (let v = current; v < Math.min(upTo, MIGRATIONS.length); v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
