// Schema migrations of the PostgreSQL store, applied in order and recorded in schema_version.
// Append only: a shipped migration is never edited, a change is a new entry. Migration 1 is the
// baseline equal to SQLite's migrations 1-12 (gateway/store/sqlite/migrations.ts); the row mappers
// in sqlite/rows.ts read both, so the column types mirror SQLite's: TEXT ids and JSON text, BIGINT
// epoch-ms times (read back as JS numbers, see the type parser in transactions.ts), INTEGER 0/1 flags.
import type { PoolClient } from 'pg';
import { PortcullisError } from '../../util/errors.js';

const MIGRATIONS: string[] = [
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, roles TEXT NOT NULL,
    password_hash TEXT, ssh_keys TEXT NOT NULL, totp_sealed TEXT, totp_last_step BIGINT NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL,
    scram_verifier TEXT, native_verifier TEXT, mysql_native INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE targets (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, host TEXT NOT NULL, port INTEGER NOT NULL,
    account TEXT NOT NULL, credential_kind TEXT NOT NULL, credential_sealed TEXT NOT NULL, host_key TEXT,
    database TEXT, tls_mode TEXT NOT NULL, tls_ca_pem TEXT, tags TEXT NOT NULL, created_at BIGINT NOT NULL,
    allow_weak_upstream_auth INTEGER NOT NULL DEFAULT 0, rsa_key_fingerprint TEXT, tls_fingerprint TEXT,
    credential_mode TEXT NOT NULL DEFAULT 'static', levels TEXT NOT NULL DEFAULT '[{"name":"default","grants":[]}]',
    rotate TEXT NOT NULL DEFAULT 'off', ephemeral_reassign_to TEXT, ephemeral_keep_home INTEGER NOT NULL DEFAULT 0,
    pending_credential_sealed TEXT, rotated_at BIGINT
  );
  CREATE TABLE policies (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, body TEXT NOT NULL, created_at BIGINT NOT NULL
  );
  CREATE TABLE requests (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, target_id TEXT NOT NULL, policy_id TEXT NOT NULL,
    duration_ms BIGINT NOT NULL, reason TEXT NOT NULL, ticket TEXT, status TEXT NOT NULL,
    created_at BIGINT NOT NULL, pending_until BIGINT NOT NULL, decided_at BIGINT, decided_by TEXT,
    deny_reason TEXT, grant_id TEXT, auto_approved INTEGER NOT NULL DEFAULT 0, level TEXT NOT NULL DEFAULT 'default'
  );
  CREATE INDEX requests_status ON requests(status, pending_until);
  -- rowid stands in for SQLite's implicit rowid: approvals at the same instant keep insertion order.
  CREATE TABLE approvals (
    rowid BIGSERIAL PRIMARY KEY, subject_id TEXT NOT NULL, approver_id TEXT NOT NULL, kind TEXT NOT NULL, at BIGINT NOT NULL
  );
  CREATE INDEX approvals_subject ON approvals(subject_id, kind);
  CREATE TABLE grants (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, target_id TEXT NOT NULL, request_id TEXT, policy_id TEXT,
    source TEXT NOT NULL, starts_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, reason TEXT NOT NULL,
    ticket TEXT, approvers TEXT NOT NULL, revoked_at BIGINT, revoked_by TEXT, revoke_reason TEXT,
    needs_review INTEGER NOT NULL DEFAULT 0, reviewed_by TEXT, reviewed_at BIGINT, created_at BIGINT NOT NULL,
    db_verifier TEXT, level TEXT NOT NULL DEFAULT 'default'
  );
  CREATE INDEX grants_active ON grants(user_id, target_id, expires_at);
  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, label TEXT NOT NULL,
    expires_at BIGINT, created_at BIGINT NOT NULL
  );
  CREATE TABLE audit (
    seq BIGINT PRIMARY KEY, ts BIGINT NOT NULL, code TEXT NOT NULL, actor TEXT NOT NULL,
    data TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
  );
  -- Append-only at the database level too: the hash chain detects tampering, this makes the
  -- ordinary code path unable to do it by mistake (TRUNCATE included, which skips row triggers).
  CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$;
  CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
  CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY, protocol TEXT NOT NULL, user_id TEXT, target_id TEXT NOT NULL, grant_id TEXT,
    client_addr TEXT NOT NULL, started_at BIGINT NOT NULL, ended_at BIGINT, end_reason TEXT, recording TEXT,
    level TEXT, node TEXT
  );
  CREATE INDEX sessions_started ON sessions(started_at);
  CREATE INDEX sessions_node_live ON sessions(node) WHERE ended_at IS NULL;
  -- Full-text search over what happened in sessions. tsv holds the words of text as search.ts
  -- splits them ('simple' configuration: no stemming, no stop words, like SQLite's unicode61).
  CREATE TABLE recording_text (
    id BIGSERIAL PRIMARY KEY, session_id TEXT NOT NULL, t DOUBLE PRECISION NOT NULL, kind TEXT NOT NULL,
    text TEXT NOT NULL, tsv TSVECTOR NOT NULL
  );
  CREATE INDEX recording_text_tsv ON recording_text USING GIN (tsv);
  CREATE TABLE links (
    id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, ssh_code_hash TEXT NOT NULL UNIQUE, target_id TEXT NOT NULL,
    issuer_id TEXT NOT NULL, policy_id TEXT, label TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
    uses_left INTEGER NOT NULL, uses INTEGER NOT NULL, session_max_ms BIGINT NOT NULL, status TEXT NOT NULL,
    approved_by TEXT, revoked_at BIGINT, revoked_by TEXT, level TEXT NOT NULL DEFAULT 'default'
  );
  CREATE TABLE recording_keys (id TEXT PRIMARY KEY, sealed TEXT NOT NULL, created_at BIGINT NOT NULL);
  CREATE TABLE ephemeral_accounts (
    id TEXT PRIMARY KEY, target_id TEXT NOT NULL, grant_id TEXT NOT NULL, account TEXT NOT NULL, level TEXT NOT NULL,
    state TEXT NOT NULL, secret_sealed TEXT, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
    drop_attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, dropped_at BIGINT
  );
  -- One live ephemeral account per grant, whichever node writes the intent.
  CREATE UNIQUE INDEX ephemeral_live_grant ON ephemeral_accounts(grant_id) WHERE state <> 'dropped';
  CREATE INDEX ephemeral_state ON ephemeral_accounts(state, target_id);
  CREATE TABLE discovery_findings (
    id TEXT PRIMARY KEY, target_id TEXT NOT NULL, account TEXT NOT NULL, privileges TEXT NOT NULL, managed INTEGER NOT NULL,
    managed_as TEXT, first_seen_at BIGINT NOT NULL, last_seen_at BIGINT NOT NULL, gone_at BIGINT
  );
  CREATE UNIQUE INDEX discovery_account ON discovery_findings(target_id, account);
  CREATE TABLE nodes (
    name TEXT PRIMARY KEY, incarnation TEXT NOT NULL, state TEXT NOT NULL, version TEXT NOT NULL,
    started_at BIGINT NOT NULL, heartbeat_at BIGINT NOT NULL, ended_at BIGINT
  );
  CREATE TABLE claims (key TEXT PRIMARY KEY, node TEXT NOT NULL, at BIGINT NOT NULL);
  CREATE INDEX claims_at ON claims(at);
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE mysql_connections (
    id BIGINT PRIMARY KEY, node TEXT NOT NULL, session_id TEXT NOT NULL, user_id TEXT NOT NULL,
    target_id TEXT NOT NULL, upstream_id BIGINT NOT NULL
  );
  `,
  // 2 (SQLite 13): guardrails and risk.
  `
  CREATE TABLE rules (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, class TEXT, match TEXT, action TEXT NOT NULL,
    targets TEXT NOT NULL, roles TEXT NOT NULL, levels TEXT NOT NULL, message TEXT, unparsable TEXT NOT NULL,
    created_at BIGINT NOT NULL, created_by TEXT NOT NULL
  );
  ALTER TABLE sessions ADD COLUMN risk_score INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX sessions_risk ON sessions(risk_score) WHERE risk_score > 0;
  CREATE TABLE session_flags (
    id TEXT PRIMARY KEY, session_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, detail TEXT NOT NULL,
    weight INTEGER NOT NULL, at BIGINT NOT NULL
  );
  CREATE UNIQUE INDEX session_flags_once ON session_flags(session_id, kind, key);
  `,
  // 3 (SQLite 14): people (single sign-on, login handoffs, ticket checks).
  `
  ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local';
  ALTER TABLE users ADD COLUMN external_id TEXT;
  CREATE UNIQUE INDEX users_external ON users(external_id) WHERE external_id IS NOT NULL;
  CREATE TABLE sso_sessions (
    token_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, issuer TEXT NOT NULL, subject TEXT NOT NULL,
    refresh_sealed TEXT, groups TEXT NOT NULL, refreshed_at BIGINT NOT NULL, expires_at BIGINT NOT NULL
  );
  CREATE INDEX sso_sessions_user ON sso_sessions(user_id);
  CREATE TABLE login_handoffs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, secret_hash TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
    user_id TEXT, token_id TEXT, payload TEXT NOT NULL, addr TEXT NOT NULL, created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX login_handoffs_expiry ON login_handoffs(expires_at);
  ALTER TABLE requests ADD COLUMN ticket_check TEXT;
  `,
];

/** The schema version this build writes and reads. */
export const PG_SCHEMA_VERSION = MIGRATIONS.length;

/** Key of the session-independent advisory lock that lets one node at a time migrate. */
const MIGRATION_LOCK = 0x70637800; // 'pcx\0'

/**
 * Applies every migration not applied yet, in one transaction under an advisory lock: two nodes
 * starting at once queue here, and the second finds the work done. `upTo` stops at that version.
 */
export async function migrate(client: PoolClient, upTo = MIGRATIONS.length): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const r = await client.query<{ version: number }>('SELECT version FROM schema_version');
    const current = r.rows[0]?.version ?? 0;
    // A newer build's schema: its columns mean things this build does not know; writing it would lose them.
    if (current > MIGRATIONS.length) {
      throw new PortcullisError('conflict', `the store's schema is version ${current}, newer than this build's ${MIGRATIONS.length}: upgrade portcullis before starting this node`);
    }
    for (let v = current; v < Math.min(upTo, MIGRATIONS.length); v++) await client.query(MIGRATIONS[v]!);
    const target = Math.max(current, Math.min(upTo, MIGRATIONS.length));
    if (r.rows.length === 0) await client.query('INSERT INTO schema_version (version) VALUES ($1)', [target]);
    else await client.query('UPDATE schema_version SET version=$1', [target]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
