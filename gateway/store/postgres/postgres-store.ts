// The PostgreSQL store: several gateway nodes on one shared database (DESIGN.md 3c). Implements
// Store; nothing else in the code base writes SQL. Records map to rows with the SQLite store's
// mappers (the schema mirrors SQLite's column for column, see migrations.ts). Transactions and
// their serialization live in transactions.ts, LISTEN/NOTIFY in notifications.ts, what errors
// mean in errors.ts. Operations the contract calls atomic are single statements (conditional
// UPDATE, INSERT … ON CONFLICT) or, for the audit chain, a transaction under the advisory lock.
import pg from 'pg';
import { PortcullisError } from '../../util/errors.js';
import type { AuditRow, GrantRecord } from '../records.js';
import type { SealedValue, SearchEntry, Store } from '../store.js';
import {
  grantFromRow, grantToRow, handoffFromRow, handoffToRow, linkFromRow, linkToRow, policyFromRow, policyToRow, requestFromRow, requestToRow,
  sessionFromRow, targetFromRow, targetToRow, tokenFromRow, ssoSessionFromRow, ssoSessionToRow, userFromRow, userToRow,
  ephemeralFromRow, ephemeralToRow, findingFromRow, findingToRow, mysqlConnectionFromRow, nodeFromRow, ruleFromRow, ruleToRow, flagFromRow, flagToRow,
} from '../sqlite/rows.js';
import { serverName, storeError } from './errors.js';
import { migrate } from './migrations.js';
import { pgNotifications, type PgNotifications } from './notifications.js';
import { indexText, prefixQuery } from './search.js';
import { PgTransactions, type Row } from './transactions.js';

export interface PostgresStoreOptions {
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Reports a lost connection (the pool reconnects by itself). */
  onError?: (err: Error) => void;
  /** How long one connection attempt may take (default 5 s). */
  connectTimeoutMs?: number;
  /** How long one statement may go unanswered before it rejects as unavailable (default 60 s). */
  queryTimeoutMs?: number;
  /** How often each LISTEN connection is checked (and how long it may take to answer); default 5 s. */
  listenerPingMs?: number;
}

/**
 * Connects, migrates the schema (or refuses one newer than this build) and returns the store.
 * Rejects with `unavailable` naming host:port (never the password) when the server cannot be reached.
 */
export async function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<Store> {
  const server = serverName(url);
  // Whatever else goes wrong while opening, the error must not carry the URL (see serverName).
  const clean = (err: unknown): Error => {
    const e = storeError(err, server);
    return e instanceof PortcullisError ? e : new PortcullisError('unavailable', `cannot open the PostgreSQL store at ${server}: ${e.message}`);
  };
  const connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
  const tx = new PgTransactions(url, server, { poolSize: opts.poolSize ?? 10, connectTimeoutMs, queryTimeoutMs: opts.queryTimeoutMs ?? 60_000, onError: opts.onError });
  try {
    let client: pg.PoolClient;
    try {
      client = await tx.pool.connect();
    } catch (err) {
      throw clean(err);
    }
    try {
      await migrate(client);
      client.release();
    } catch (err) {
      client.release(true);
      throw clean(err);
    }
  } catch (err) {
    await tx.pool.end().catch(() => undefined);
    throw err;
  }
  return new PostgresStore(tx, pgNotifications(tx, { connectTimeoutMs, pingMs: opts.listenerPingMs ?? 5_000 }));
}

/** `users` → `user "alice"`: the subject of a conflict message, as the SQLite store words it. */
function subjectOf(table: string, row: Row): string {
  return `${table.replace(/s$/, '')} "${String(row.name ?? row.id ?? row.seq)}"`;
}

class PostgresStore implements Store {
  readonly kind = 'postgres' as const;

  constructor(private readonly tx: PgTransactions, readonly notifications: PgNotifications) {}

  private async all<T>(map: (r: Row) => T, sql: string, ...params: unknown[]): Promise<T[]> {
    return (await this.tx.query(sql, params)).rows.map(map);
  }

  private async one<T>(map: (r: Row) => T, sql: string, ...params: unknown[]): Promise<T | undefined> {
    const r = (await this.tx.query(sql, params)).rows[0];
    return r && map(r);
  }

  /** Runs a write; resolves to the number of rows changed. */
  private async change(sql: string, ...params: unknown[]): Promise<number> {
    return (await this.tx.write(sql, params)).rowCount ?? 0;
  }

  private async none(p: Promise<unknown>): Promise<void> {
    await p;
  }

  private async insertRow(table: string, row: Row): Promise<void> {
    const cols = Object.keys(row);
    await this.tx.write(
      `INSERT INTO ${table} (${cols.join(',')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(',')})`,
      cols.map((c) => row[c]), subjectOf(table, row),
    );
  }

  /** `exprs` replaces `col=$n` for some columns; `$n` in an expression is that column's value. */
  private async updateRow(table: string, row: Row, exprs: Record<string, string> = {}): Promise<void> {
    const cols = Object.keys(row).filter((c) => c !== 'id');
    const sets = cols.map((c, i) => `${c}=${(exprs[c] ?? '$n').replace(/\$n/g, `$${i + 2}`)}`);
    await this.tx.write(`UPDATE ${table} SET ${sets.join(',')} WHERE id=$1`, [row.id, ...cols.map((c) => row[c])], subjectOf(table, row));
  }

  readonly users: Store['users'] = {
    insert: (u) => this.insertRow('users', userToRow(u)),
    byName: (name) => this.one(userFromRow, 'SELECT * FROM users WHERE name=$1', name),
    byId: (id) => this.one(userFromRow, 'SELECT * FROM users WHERE id=$1', id),
    byExternalId: (externalId) => this.one(userFromRow, 'SELECT * FROM users WHERE external_id=$1', externalId),
    list: () => this.all(userFromRow, 'SELECT * FROM users ORDER BY name COLLATE "C"'),
    // The TOTP step only moves forward, through advanceTotpStep: a copy of the user read before a
    // login took a step can never write the older step back and reopen that code.
    update: (u) => this.updateRow('users', userToRow(u), { totp_last_step: 'GREATEST(totp_last_step, $n)' }),
    remove: (id) => this.none(this.change('DELETE FROM users WHERE id=$1', id)),
    advanceTotpStep: async (id, step) => (await this.change('UPDATE users SET totp_last_step=$1 WHERE id=$2 AND totp_last_step<$1', step, id)) === 1,
  };

  readonly targets: Store['targets'] = {
    insert: (t) => this.insertRow('targets', targetToRow(t)),
    byName: (name) => this.one(targetFromRow, 'SELECT * FROM targets WHERE name=$1', name),
    byId: (id) => this.one(targetFromRow, 'SELECT * FROM targets WHERE id=$1', id),
    list: () => this.all(targetFromRow, 'SELECT * FROM targets ORDER BY name COLLATE "C"'),
    update: (t) => this.updateRow('targets', targetToRow(t)),
    remove: (id) => this.none(this.change('DELETE FROM targets WHERE id=$1', id)),
  };

  readonly policies: Store['policies'] = {
    insert: (p) => this.insertRow('policies', policyToRow(p)),
    byName: (name) => this.one(policyFromRow, 'SELECT * FROM policies WHERE name=$1', name),
    byId: (id) => this.one(policyFromRow, 'SELECT * FROM policies WHERE id=$1', id),
    list: () => this.all(policyFromRow, 'SELECT * FROM policies ORDER BY name COLLATE "C"'),
    update: (p) => this.updateRow('policies', policyToRow(p)),
    remove: (id) => this.none(this.change('DELETE FROM policies WHERE id=$1', id)),
  };

  readonly requests: Store['requests'] = {
    insert: (q) => this.insertRow('requests', requestToRow(q)),
    byId: (id) => this.one(requestFromRow, 'SELECT * FROM requests WHERE id=$1', id),
    list: ({ status, userId }) =>
      this.all(
        requestFromRow,
        'SELECT * FROM requests WHERE ($1::text IS NULL OR status=$1) AND ($2::text IS NULL OR user_id=$2) ORDER BY created_at, id COLLATE "C"',
        status ?? null, userId ?? null,
      ),
    update: (q) => this.updateRow('requests', requestToRow(q)),
    overdue: (now) => this.all(requestFromRow, "SELECT * FROM requests WHERE status='pending' AND pending_until<=$1 ORDER BY pending_until, id COLLATE \"C\"", now),
  };

  readonly approvals: Store['approvals'] = {
    insert: (a) => this.insertRow('approvals', { subject_id: a.subjectId, approver_id: a.approverId, kind: a.kind, at: a.at }),
    forSubject: (subjectId, kind) =>
      this.all(
        (r) => ({ subjectId: String(r.subject_id), approverId: String(r.approver_id), kind, at: Number(r.at) }),
        'SELECT * FROM approvals WHERE subject_id=$1 AND kind=$2 ORDER BY at, rowid', subjectId, kind,
      ),
  };

  readonly grants: Store['grants'] = {
    insert: (g) => this.insertRow('grants', grantToRow(g)),
    byId: (id) => this.one(grantFromRow, 'SELECT * FROM grants WHERE id=$1', id),
    active: (now, filter) =>
      this.all(
        grantFromRow,
        `SELECT * FROM grants WHERE revoked_at IS NULL AND starts_at<=$1 AND expires_at>$1
           AND ($2::text IS NULL OR user_id=$2) AND ($3::text IS NULL OR target_id=$3) ORDER BY expires_at DESC, id COLLATE "C"`,
        now, filter?.userId ?? null, filter?.targetId ?? null,
      ),
    list: ({ userId }) =>
      this.all(grantFromRow, 'SELECT * FROM grants WHERE ($1::text IS NULL OR user_id=$1) ORDER BY created_at, id COLLATE "C"', userId ?? null),
    update: (g: GrantRecord) => this.updateRow('grants', grantToRow(g)),
  };

  readonly tokens: Store['tokens'] = {
    insert: (t) => this.insertRow('api_tokens', {
      id: t.id, user_id: t.userId, hash: t.hash, label: t.label, expires_at: t.expiresAt, created_at: t.createdAt,
    }),
    byHash: (hash) => this.one(tokenFromRow, 'SELECT * FROM api_tokens WHERE hash=$1', hash),
    byId: (id) => this.one(tokenFromRow, 'SELECT * FROM api_tokens WHERE id=$1', id),
    removeForUser: (userId) => this.change('DELETE FROM api_tokens WHERE user_id=$1', userId),
    removeByHash: (hash) => this.none(this.change('DELETE FROM api_tokens WHERE hash=$1', hash)),
    removeById: async (id) => (await this.change('DELETE FROM api_tokens WHERE id=$1', id)) === 1,
    removeExpired: (now) => this.none(this.change('DELETE FROM api_tokens WHERE expires_at IS NOT NULL AND expires_at<=$1', now)),
  };

  readonly ssoSessions: Store['ssoSessions'] = {
    insert: (x) => this.insertRow('sso_sessions', ssoSessionToRow(x)),
    byTokenId: (tokenId) => this.one(ssoSessionFromRow, 'SELECT * FROM sso_sessions WHERE token_id=$1', tokenId),
    due: (before, now, limit) => this.all(ssoSessionFromRow, 'SELECT * FROM sso_sessions WHERE refreshed_at<$1 AND expires_at>$2 ORDER BY refreshed_at, token_id COLLATE "C" LIMIT $3', before, now, limit),
    forUser: (userId) => this.all(ssoSessionFromRow, 'SELECT * FROM sso_sessions WHERE user_id=$1 ORDER BY refreshed_at, token_id COLLATE "C"', userId),
    update: (x) => this.none(this.change('UPDATE sso_sessions SET refresh_sealed=$1, groups=$2, refreshed_at=$3, expires_at=$4 WHERE token_id=$5', x.refreshSealed, JSON.stringify(x.groups), x.refreshedAt, x.expiresAt, x.tokenId)),
    remove: (tokenId) => this.none(this.change('DELETE FROM sso_sessions WHERE token_id=$1', tokenId)),
    removeExpired: (now) => this.change('DELETE FROM sso_sessions WHERE expires_at<=$1', now),
  };

  readonly audit: Store['audit'] = {
    last: () => this.one(auditFromRow, 'SELECT * FROM audit ORDER BY seq DESC LIMIT 1'),
    // A transaction of its own (or the caller's): the advisory lock every transaction takes keeps
    // every other append, on this node or any other, out between reading the head and inserting.
    append: (next) => this.tx.transaction(async () => {
      const head = await this.one(auditFromRow, 'SELECT * FROM audit ORDER BY seq DESC LIMIT 1');
      const a = next(head);
      await this.insertRow('audit', { seq: a.seq, ts: a.ts, code: a.code, actor: a.actor, data: a.data, prev_hash: a.prevHash, hash: a.hash });
      return a;
    }),
    page: (afterSeq, limit) => this.all(auditFromRow, 'SELECT * FROM audit WHERE seq>$1 ORDER BY seq LIMIT $2', afterSeq, limit),
  };

  readonly sessions: Store['sessions'] = {
    insert: (s) => this.insertRow('sessions', {
      id: s.id, protocol: s.protocol, user_id: s.userId, target_id: s.targetId, grant_id: s.grantId, level: s.level,
      client_addr: s.clientAddr, started_at: s.startedAt, ended_at: s.endedAt, end_reason: s.endReason, recording: s.recording, node: s.node,
    }),
    // One statement: whoever ends a node's sessions gets each id once, even racing another caller.
    endForNode: async (node, endedAt, reason) => (await this.all(
      (r) => ({ id: String(r.id), startedAt: Number(r.started_at) }),
      'UPDATE sessions SET ended_at=$1, end_reason=$2 WHERE node=$3 AND ended_at IS NULL RETURNING id, started_at', endedAt, reason, node,
    )).sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((r) => r.id),
    end: (id, endedAt, reason) => this.none(this.change('UPDATE sessions SET ended_at=$1, end_reason=$2 WHERE id=$3 AND ended_at IS NULL', endedAt, reason, id)),
    byId: (id) => this.one(sessionFromRow, 'SELECT * FROM sessions WHERE id=$1', id),
    // One statement: the flag and its weight land together, once, whoever races.
    addFlag: async (f) => {
      const r = flagToRow(f);
      const rows = await this.all((x) => Number(x.n),
        `WITH ins AS (
           INSERT INTO session_flags (id, session_id, kind, key, detail, weight, at) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (session_id, kind, key) DO NOTHING RETURNING session_id, weight
         ), upd AS (UPDATE sessions s SET risk_score = s.risk_score + ins.weight FROM ins WHERE s.id = ins.session_id)
         SELECT count(*) AS n FROM ins`,
        r.id, r.session_id, r.kind, r.key, r.detail, r.weight, r.at);
      return (rows[0] ?? 0) === 1;
    },
    flags: (sessionId) => this.all(flagFromRow, 'SELECT * FROM session_flags WHERE session_id=$1 ORDER BY at, id COLLATE "C"', sessionId),
    // Keyset paging over the started_at index: page N costs the same as page 1.
    list: (f) =>
      this.all(
        sessionFromRow,
        `SELECT * FROM sessions WHERE ($1::boolean IS NULL OR (ended_at IS NULL) = $1)
           AND ($2::text IS NULL OR user_id = $2) AND ($3::text IS NULL OR target_id = $3)
           AND ($4::text IS NULL OR protocol = $4) AND ($5::text IS NULL OR end_reason = $5)
           AND ($6::bigint IS NULL OR started_at >= $6) AND ($7::bigint IS NULL OR started_at < $7)
           AND ($8::bigint IS NULL OR started_at < $8 OR (started_at = $8 AND id COLLATE "C" < $9::text))
           AND ($11::boolean IS NULL OR EXISTS (SELECT 1 FROM session_flags WHERE session_id = sessions.id))
           AND ($12::integer IS NULL OR risk_score >= $12)
         ORDER BY ${f.order === 'score' ? 'risk_score DESC, ' : ''}started_at DESC, id COLLATE "C" DESC LIMIT $10`,
        f.live ?? null, f.userId ?? null, f.targetId ?? null, f.protocol ?? null, f.endReason ?? null, f.since ?? null, f.until ?? null,
        f.before?.startedAt ?? null, f.before?.id ?? null, Math.max(0, Math.min(f.limit ?? 100, 1000)),
        f.flagged ? true : null, f.minScore ?? null,
      ),
  };

  readonly search: Store['search'] = {
    // One statement: all entries or none.
    add: async (entries) => {
      if (entries.length === 0) return;
      await this.tx.write(
        `INSERT INTO recording_text (session_id, t, kind, text, tsv)
           SELECT e.session_id, e.t, e.kind, e.text, to_tsvector('simple', e.words)
           FROM unnest($1::text[], $2::float8[], $3::text[], $4::text[], $5::text[]) AS e(session_id, t, kind, text, words)`,
        [entries.map((e) => e.sessionId), entries.map((e) => e.t), entries.map((e) => e.kind), entries.map((e) => e.text), entries.map((e) => indexText(e.text))],
      );
    },
    query: (query, limit) => {
      const q = prefixQuery(query);
      if (!q) return Promise.resolve([]);
      return this.all(
        (r) => ({ sessionId: String(r.session_id), t: Number(r.t), kind: String(r.kind) as SearchEntry['kind'], text: String(r.text) }),
        `SELECT session_id, t, kind, text FROM recording_text, to_tsquery('simple', $1) AS q
           WHERE tsv @@ q ORDER BY ts_rank(tsv, q) DESC, id LIMIT $2`,
        q, Math.max(0, limit),
      );
    },
  };

  readonly links: Store['links'] = {
    insert: (l) => this.insertRow('links', linkToRow(l)),
    byId: (id) => this.one(linkFromRow, 'SELECT * FROM links WHERE id=$1', id),
    byTokenHash: (h) => this.one(linkFromRow, 'SELECT * FROM links WHERE token_hash=$1', h),
    bySshCodeHash: (h) => this.one(linkFromRow, 'SELECT * FROM links WHERE ssh_code_hash=$1', h),
    list: () => this.all(linkFromRow, 'SELECT * FROM links ORDER BY created_at DESC, id COLLATE "C" DESC'),
    update: (l) => this.updateRow('links', linkToRow(l)),
    // One statement (the row lock serializes racers): exactly as many opens as there are uses succeed.
    consume: async (id, now) => (await this.change(
      `UPDATE links SET uses_left = uses_left - 1, uses = uses + 1
         WHERE id=$1 AND status='active' AND revoked_at IS NULL AND expires_at>$2 AND uses_left>0`,
      id, now,
    )) === 1,
  };

  readonly handoffs: Store['handoffs'] = {
    insert: (h) => this.insertRow('login_handoffs', handoffToRow(h)),
    byId: (id) => this.one(handoffFromRow, 'SELECT * FROM login_handoffs WHERE id=$1', id),
    // Single conditional statements (the row lock serializes racers): one decision, one consumer.
    decide: async (id, state, userId, now) => (await this.change(
      "UPDATE login_handoffs SET state=$1, user_id=$2 WHERE id=$3 AND state='pending' AND expires_at>$4", state, userId, id, now,
    )) === 1,
    consume: async (id, secretHash, now, tokenId) => (await this.change(
      "UPDATE login_handoffs SET state='consumed', token_id=$1 WHERE id=$2 AND secret_hash=$3 AND state='approved' AND expires_at>$4",
      tokenId, id, secretHash, now,
    )) === 1,
    removeExpired: (before) => this.change('DELETE FROM login_handoffs WHERE expires_at<=$1', before),
  };

  readonly recordingKeys: Store['recordingKeys'] = {
    list: () => this.all((r) => ({ id: String(r.id), sealed: String(r.sealed), createdAt: Number(r.created_at) }),
      'SELECT * FROM recording_keys ORDER BY created_at DESC, id COLLATE "C" DESC'),
    insert: (k) => this.insertRow('recording_keys', { id: k.id, sealed: k.sealed, created_at: k.createdAt }),
  };

  readonly ephemeral: Store['ephemeral'] = {
    insert: (a) => this.insertRow('ephemeral_accounts', ephemeralToRow(a)),
    byId: (id) => this.one(ephemeralFromRow, 'SELECT * FROM ephemeral_accounts WHERE id=$1', id),
    forGrant: (grantId) => this.one(ephemeralFromRow, "SELECT * FROM ephemeral_accounts WHERE grant_id=$1 AND state<>'dropped'", grantId),
    live: (f) => this.all(ephemeralFromRow,
      "SELECT * FROM ephemeral_accounts WHERE state<>'dropped' AND ($1::text IS NULL OR target_id=$1) ORDER BY created_at, id COLLATE \"C\"",
      f?.targetId ?? null),
    list: (f) => this.all(ephemeralFromRow,
      'SELECT * FROM ephemeral_accounts WHERE ($1::text IS NULL OR target_id=$1) ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT $2',
      f.targetId ?? null, Math.max(0, Math.min(f.limit ?? 100, 1000))),
    update: (a) => this.updateRow('ephemeral_accounts', ephemeralToRow(a)),
  };

  readonly findings: Store['findings'] = {
    list: (f) => this.all(findingFromRow,
      'SELECT * FROM discovery_findings WHERE ($1::text IS NULL OR target_id=$1) ORDER BY first_seen_at DESC, id COLLATE "C" DESC',
      f.targetId ?? null),
    byAccount: (targetId, account) => this.one(findingFromRow, 'SELECT * FROM discovery_findings WHERE target_id=$1 AND account=$2', targetId, account),
    // SQLite's INSERT OR REPLACE: a row with the same id, or the same target and account, gives way.
    put: (f) => this.tx.transaction(async () => {
      const row = findingToRow(f);
      await this.change('DELETE FROM discovery_findings WHERE id=$1 OR (target_id=$2 AND account=$3)', f.id, f.targetId, f.account);
      await this.insertRow('discovery_findings', row);
    }),
    removeForTarget: (targetId) => this.none(this.change('DELETE FROM discovery_findings WHERE target_id=$1', targetId)),
  };

  readonly nodes: Store['nodes'] = {
    join: async (n, staleBefore) => (await this.change(
      `INSERT INTO nodes (name, incarnation, state, version, started_at, heartbeat_at, ended_at)
         VALUES ($1, $2, 'up', $3, $4, $5, NULL)
       ON CONFLICT (name) DO UPDATE SET incarnation=excluded.incarnation, state='up', version=excluded.version,
         started_at=excluded.started_at, heartbeat_at=excluded.heartbeat_at, ended_at=NULL
       WHERE nodes.state<>'up' OR nodes.heartbeat_at<$6`,
      n.name, n.incarnation, n.version, n.startedAt, n.heartbeatAt, staleBefore,
    )) === 1,
    heartbeat: async (name, incarnation, now) =>
      (await this.change("UPDATE nodes SET heartbeat_at=GREATEST(heartbeat_at, $1) WHERE name=$2 AND incarnation=$3 AND state='up'", now, name, incarnation)) === 1,
    markLost: async (name, incarnation, staleBefore, now) =>
      (await this.change("UPDATE nodes SET state='lost', ended_at=$1 WHERE name=$2 AND incarnation=$3 AND state='up' AND heartbeat_at<$4", now, name, incarnation, staleBefore)) === 1,
    leave: (name, incarnation, now) => this.none(this.change("UPDATE nodes SET state='left', ended_at=$1 WHERE name=$2 AND incarnation=$3 AND state='up'", now, name, incarnation)),
    byName: (name) => this.one(nodeFromRow, 'SELECT * FROM nodes WHERE name=$1', name),
    list: () => this.all(nodeFromRow, 'SELECT * FROM nodes ORDER BY name COLLATE "C"'),
    // clock_timestamp(), not now(): now() is the transaction's start, which may be long ago.
    now: async () => {
      const ms = Number(await this.one((r) => r.ms, 'SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms'));
      if (!Number.isFinite(ms)) throw new PortcullisError('internal', 'the store did not tell its time');
      return ms;
    },
  };

  readonly claims: Store['claims'] = {
    claim: async (key, node, now) => (await this.change('INSERT INTO claims (key, node, at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING', key, node, now)) === 1,
    prune: (before) => this.change('DELETE FROM claims WHERE at<$1', before),
  };

  readonly meta: Store['meta'] = {
    get: (key) => this.one((r) => String(r.value), 'SELECT value FROM meta WHERE key=$1', key),
    // One statement: the no-op DO UPDATE makes RETURNING yield the stored row when the key is taken.
    putIfAbsent: async (key, value) => {
      const r = await this.one((x) => String(x.value),
        'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value=meta.value RETURNING value', key, value);
      if (r === undefined) throw new PortcullisError('internal', `meta "${key}" was not stored`);
      return r;
    },
    put: (key, value) => this.none(this.change('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value=excluded.value', key, value)),
  };

  readonly rules: Store['rules'] = {
    insert: (r) => this.insertRow('rules', ruleToRow(r)),
    byName: (name) => this.one(ruleFromRow, 'SELECT * FROM rules WHERE name=$1', name),
    list: () => this.all(ruleFromRow, 'SELECT * FROM rules ORDER BY created_at, id COLLATE "C"'),
    remove: async (name) => (await this.change('DELETE FROM rules WHERE name=$1', name)) === 1,
  };

  readonly mysqlConnections: Store['mysqlConnections'] = {
    insert: (c) => this.insertRow('mysql_connections', {
      id: c.id, node: c.node, session_id: c.sessionId, user_id: c.userId, target_id: c.targetId, upstream_id: c.upstreamId,
    }),
    byId: (id) => this.one(mysqlConnectionFromRow, 'SELECT * FROM mysql_connections WHERE id=$1', id),
    remove: (id) => this.none(this.change('DELETE FROM mysql_connections WHERE id=$1', id)),
    removeForNode: (node) => this.none(this.change('DELETE FROM mysql_connections WHERE node=$1', node)),
  };

  sealedValues(): Promise<SealedValue[]> {
    return this.tx.transaction(async () => {
      const q = (sql: string): Promise<Row[]> => this.all((r) => r, sql);
      const pending = await q('SELECT id, pending_credential_sealed AS sealed FROM targets WHERE pending_credential_sealed IS NOT NULL ORDER BY id COLLATE "C"');
      const ephemeral = await q('SELECT id, secret_sealed AS sealed FROM ephemeral_accounts WHERE secret_sealed IS NOT NULL ORDER BY id COLLATE "C"');
      const targets = await q('SELECT id, credential_sealed AS sealed FROM targets ORDER BY id COLLATE "C"');
      const users = await q('SELECT id, totp_sealed AS sealed FROM users WHERE totp_sealed IS NOT NULL ORDER BY id COLLATE "C"');
      const keys = await q('SELECT id, sealed FROM recording_keys ORDER BY id COLLATE "C"');
      return [
        ...pending.map((r) => ({ table: 'target_pending' as const, id: String(r.id), sealed: String(r.sealed) })),
        ...ephemeral.map((r) => ({ table: 'ephemeral_accounts' as const, id: String(r.id), sealed: String(r.sealed) })),
        ...targets.map((r) => ({ table: 'targets' as const, id: String(r.id), sealed: String(r.sealed) })),
        ...users.map((r) => ({ table: 'users' as const, id: String(r.id), sealed: String(r.sealed) })),
        ...keys.map((r) => ({ table: 'recording_keys' as const, id: String(r.id), sealed: String(r.sealed) })),
      ];
    });
  }

  replaceSealed(v: SealedValue): Promise<void> {
    const where = SEALED_COLUMNS[v.table] as readonly [string, string] | undefined;
    // The table and column come from this fixed map only, never from the caller's text.
    if (!where) return Promise.reject(new PortcullisError('bad-request', `no sealed values in "${String(v.table)}"`));
    const [table, col] = where;
    return this.none(this.change(`UPDATE ${table} SET ${col}=$1 WHERE id=$2`, v.sealed, v.id));
  }

  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.tx.transaction(fn);
  }

  /** Waits for running (and queued) transactions, then ends the pool and every listener. */
  async close(): Promise<void> {
    await this.tx.close();
    await this.notifications.closeAll();
  }
}

/** Where each kind of sealed value lives: table and column. */
const SEALED_COLUMNS: { readonly [K in SealedValue['table']]: readonly [string, string] } = {
  targets: ['targets', 'credential_sealed'],
  target_pending: ['targets', 'pending_credential_sealed'],
  users: ['users', 'totp_sealed'],
  recording_keys: ['recording_keys', 'sealed'],
  ephemeral_accounts: ['ephemeral_accounts', 'secret_sealed'],
};

function auditFromRow(r: Row): AuditRow {
  return {
    seq: Number(r.seq), ts: Number(r.ts), code: String(r.code), actor: String(r.actor), data: String(r.data),
    prevHash: String(r.prev_hash), hash: String(r.hash),
  };
}
