// The SQLite store (better-sqlite3, WAL). Implements Store; nothing else in the code base writes SQL.
// Statements are prepared once and cached. Unique-constraint violations become `conflict` errors.
// better-sqlite3 is synchronous; SerialTransactions makes its transactions safe to await (one at a
// time, calls from other async contexts wait) so the async Store contract holds.
import Database from 'better-sqlite3';
import { PortcullisError } from '../../util/errors.js';
import type { AuditRow, GrantRecord } from '../records.js';
import type { SealedValue, SearchEntry, Store } from '../store.js';
import { SerialTransactions } from './serial-transactions.js';
import { migrate } from './migrations.js';
import {
  type Row, grantFromRow, grantToRow, handoffFromRow, handoffToRow, linkFromRow, linkToRow, policyFromRow, policyToRow, requestFromRow, requestToRow,
  sessionFromRow, targetFromRow, targetToRow, tokenFromRow, ssoSessionFromRow, ssoSessionToRow, userFromRow, userToRow,
  ephemeralFromRow, ephemeralToRow, findingFromRow, findingToRow, mysqlConnectionFromRow, nodeFromRow, ruleFromRow, ruleToRow, flagFromRow, flagToRow,
} from './rows.js';
import { localNotifications } from './local-notifications.js';

export function openSqliteStore(file: string): Store {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return new SqliteStore(db, file);
}

class SqliteStore implements Store {
  private readonly cache = new Map<string, Database.Statement>();
  private readonly tx: SerialTransactions;

  constructor(private readonly db: Database.Database, file: string) {
    this.tx = new SerialTransactions(db);
    this.notifications = localNotifications(file);
  }

  private st(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  private all<T>(map: (r: Row) => T, sql: string, ...params: unknown[]): Promise<T[]> {
    return this.tx.run(() => (this.st(sql).all(...params) as Row[]).map(map));
  }

  private one<T>(map: (r: Row) => T, sql: string, ...params: unknown[]): Promise<T | undefined> {
    return this.tx.run(() => {
      const r = this.st(sql).get(...params) as Row | undefined;
      return r && map(r);
    });
  }

  /** Runs a write; resolves to the number of rows changed. */
  private write(sql: string, ...params: unknown[]): Promise<number> {
    return this.tx.run(() => this.st(sql).run(...params).changes);
  }

  private insertRow(table: string, row: Row): Promise<void> {
    return this.tx.run(() => this.insertNow(table, row));
  }

  private insertNow(table: string, row: Row): void {
    const cols = Object.keys(row);
    try {
      this.st(`INSERT INTO ${table} (${cols.join(',')}) VALUES (${cols.map((c) => '@' + c).join(',')})`).run(row);
    } catch (err) {
      if (err instanceof Error && /UNIQUE constraint|PRIMARY KEY constraint/.test(err.message)) {
        throw new PortcullisError('conflict', `${table.replace(/s$/, '')} "${String(row.name ?? row.id ?? row.seq)}" already exists`);
      }
      throw err;
    }
  }

  /** `exprs` replaces `col=@col` for some columns (e.g. a value that may only grow). */
  private updateRow(table: string, row: Row, exprs: Record<string, string> = {}): Promise<void> {
    const cols = Object.keys(row).filter((c) => c !== 'id');
    return this.tx.run(() => {
      try {
        this.st(`UPDATE ${table} SET ${cols.map((c) => `${c}=${exprs[c] ?? '@' + c}`).join(',')} WHERE id=@id`).run(row);
      } catch (err) {
        if (err instanceof Error && /UNIQUE constraint/.test(err.message)) {
          throw new PortcullisError('conflict', `${table.replace(/s$/, '')} "${String(row.name ?? row.id)}" already exists`);
        }
        throw err;
      }
    });
  }

  private async none(p: Promise<number>): Promise<void> {
    await p;
  }

  readonly users: Store['users'] = {
    insert: (u) => this.insertRow('users', userToRow(u)),
    byName: (name) => this.one(userFromRow, 'SELECT * FROM users WHERE name=?', name),
    byId: (id) => this.one(userFromRow, 'SELECT * FROM users WHERE id=?', id),
    byExternalId: (externalId) => this.one(userFromRow, 'SELECT * FROM users WHERE external_id=?', externalId),
    list: () => this.all(userFromRow, 'SELECT * FROM users ORDER BY name'),
    // The TOTP step only moves forward, through advanceTotpStep: a copy of the user read before a
    // login took a step can never write the older step back and reopen that code.
    update: (u) => this.updateRow('users', userToRow(u), { totp_last_step: 'MAX(totp_last_step, @totp_last_step)' }),
    remove: (id) => this.none(this.write('DELETE FROM users WHERE id=?', id)),
    advanceTotpStep: async (id, step) => (await this.write('UPDATE users SET totp_last_step=? WHERE id=? AND totp_last_step<?', step, id, step)) === 1,
  };

  readonly targets: Store['targets'] = {
    insert: (t) => this.insertRow('targets', targetToRow(t)),
    byName: (name) => this.one(targetFromRow, 'SELECT * FROM targets WHERE name=?', name),
    byId: (id) => this.one(targetFromRow, 'SELECT * FROM targets WHERE id=?', id),
    list: () => this.all(targetFromRow, 'SELECT * FROM targets ORDER BY name'),
    update: (t) => this.updateRow('targets', targetToRow(t)),
    remove: (id) => this.none(this.write('DELETE FROM targets WHERE id=?', id)),
  };

  readonly policies: Store['policies'] = {
    insert: (p) => this.insertRow('policies', policyToRow(p)),
    byName: (name) => this.one(policyFromRow, 'SELECT * FROM policies WHERE name=?', name),
    byId: (id) => this.one(policyFromRow, 'SELECT * FROM policies WHERE id=?', id),
    list: () => this.all(policyFromRow, 'SELECT * FROM policies ORDER BY name'),
    update: (p) => this.updateRow('policies', policyToRow(p)),
    remove: (id) => this.none(this.write('DELETE FROM policies WHERE id=?', id)),
  };

  readonly requests: Store['requests'] = {
    insert: (q) => this.insertRow('requests', requestToRow(q)),
    byId: (id) => this.one(requestFromRow, 'SELECT * FROM requests WHERE id=?', id),
    list: ({ status, userId }) =>
      this.all(
        requestFromRow,
        'SELECT * FROM requests WHERE (@status IS NULL OR status=@status) AND (@user IS NULL OR user_id=@user) ORDER BY created_at, id',
        { status: status ?? null, user: userId ?? null },
      ),
    update: (q) => this.updateRow('requests', requestToRow(q)),
    overdue: (now) => this.all(requestFromRow, "SELECT * FROM requests WHERE status='pending' AND pending_until<=? ORDER BY pending_until, id", now),
  };

  readonly approvals: Store['approvals'] = {
    insert: (a) => this.insertRow('approvals', { subject_id: a.subjectId, approver_id: a.approverId, kind: a.kind, at: a.at }),
    forSubject: (subjectId, kind) =>
      this.all(
        (r) => ({ subjectId: String(r.subject_id), approverId: String(r.approver_id), kind, at: Number(r.at) }),
        'SELECT * FROM approvals WHERE subject_id=? AND kind=? ORDER BY at, rowid', subjectId, kind,
      ),
  };

  readonly grants: Store['grants'] = {
    insert: (g) => this.insertRow('grants', grantToRow(g)),
    byId: (id) => this.one(grantFromRow, 'SELECT * FROM grants WHERE id=?', id),
    active: (now, filter) =>
      this.all(
        grantFromRow,
        `SELECT * FROM grants WHERE revoked_at IS NULL AND starts_at<=@now AND expires_at>@now
           AND (@user IS NULL OR user_id=@user) AND (@target IS NULL OR target_id=@target) ORDER BY expires_at DESC, id`,
        { now, user: filter?.userId ?? null, target: filter?.targetId ?? null },
      ),
    list: ({ userId }) =>
      this.all(grantFromRow, 'SELECT * FROM grants WHERE (@user IS NULL OR user_id=@user) ORDER BY created_at, id', { user: userId ?? null }),
    update: (g: GrantRecord) => this.updateRow('grants', grantToRow(g)),
  };

  readonly tokens: Store['tokens'] = {
    insert: (t) => this.insertRow('api_tokens', {
      id: t.id, user_id: t.userId, hash: t.hash, label: t.label, expires_at: t.expiresAt, created_at: t.createdAt,
    }),
    byHash: (hash) => this.one(tokenFromRow, 'SELECT * FROM api_tokens WHERE hash=?', hash),
    byId: (id) => this.one(tokenFromRow, 'SELECT * FROM api_tokens WHERE id=?', id),
    removeForUser: (userId) => this.write('DELETE FROM api_tokens WHERE user_id=?', userId),
    removeByHash: (hash) => this.none(this.write('DELETE FROM api_tokens WHERE hash=?', hash)),
    removeById: async (id) => (await this.write('DELETE FROM api_tokens WHERE id=?', id)) === 1,
    removeExpired: (now) => this.none(this.write('DELETE FROM api_tokens WHERE expires_at IS NOT NULL AND expires_at<=?', now)),
  };

  readonly ssoSessions: Store['ssoSessions'] = {
    insert: (x) => this.insertRow('sso_sessions', ssoSessionToRow(x)),
    byTokenId: (tokenId) => this.one(ssoSessionFromRow, 'SELECT * FROM sso_sessions WHERE token_id=?', tokenId),
    due: (before, now, limit) => this.all(ssoSessionFromRow, 'SELECT * FROM sso_sessions WHERE refreshed_at<? AND expires_at>? ORDER BY refreshed_at, token_id LIMIT ?', before, now, limit),
    forUser: (userId) => this.all(ssoSessionFromRow, 'SELECT * FROM sso_sessions WHERE user_id=? ORDER BY refreshed_at, token_id', userId),
    update: (x) => this.none(this.write('UPDATE sso_sessions SET refresh_sealed=?, groups=?, refreshed_at=?, expires_at=? WHERE token_id=?', x.refreshSealed, JSON.stringify(x.groups), x.refreshedAt, x.expiresAt, x.tokenId)),
    remove: (tokenId) => this.none(this.write('DELETE FROM sso_sessions WHERE token_id=?', tokenId)),
    removeExpired: (now) => this.write('DELETE FROM sso_sessions WHERE expires_at<=?', now),
  };

  readonly audit: Store['audit'] = {
    last: () => this.one(auditFromRow, 'SELECT * FROM audit ORDER BY seq DESC LIMIT 1'),
    // Head read and insert in one synchronous step: nothing can run between them on this
    // connection, and the transaction machinery keeps other callers' transactions out.
    append: (next) => this.tx.run(() => {
      const head = this.st('SELECT * FROM audit ORDER BY seq DESC LIMIT 1').get() as Row | undefined;
      const a = next(head && auditFromRow(head));
      this.insertNow('audit', { seq: a.seq, ts: a.ts, code: a.code, actor: a.actor, data: a.data, prev_hash: a.prevHash, hash: a.hash });
      return a;
    }),
    page: (afterSeq, limit) => this.all(auditFromRow, 'SELECT * FROM audit WHERE seq>? ORDER BY seq LIMIT ?', afterSeq, limit),
  };

  readonly sessions: Store['sessions'] = {
    insert: (s) => this.insertRow('sessions', {
      id: s.id, protocol: s.protocol, user_id: s.userId, target_id: s.targetId, grant_id: s.grantId, level: s.level,
      client_addr: s.clientAddr, started_at: s.startedAt, ended_at: s.endedAt, end_reason: s.endReason, recording: s.recording, node: s.node,
    }),
    endForNode: (node, endedAt, reason) => this.tx.run(() => {
      const ids = (this.st('SELECT id FROM sessions WHERE node=? AND ended_at IS NULL ORDER BY started_at, id').all(node) as Row[]).map((r) => String(r.id));
      this.st('UPDATE sessions SET ended_at=?, end_reason=? WHERE node=? AND ended_at IS NULL').run(endedAt, reason, node);
      return ids;
    }),
    end: (id, endedAt, reason) => this.none(this.write('UPDATE sessions SET ended_at=?, end_reason=? WHERE id=? AND ended_at IS NULL', endedAt, reason, id)),
    byId: (id) => this.one(sessionFromRow, 'SELECT * FROM sessions WHERE id=?', id),
    addFlag: (f) => this.tx.run(() => {
      const added = this.st('INSERT OR IGNORE INTO session_flags (id, session_id, kind, key, detail, weight, at) VALUES (@id, @session_id, @kind, @key, @detail, @weight, @at)').run(flagToRow(f)).changes === 1;
      if (added) this.st('UPDATE sessions SET risk_score = risk_score + ? WHERE id=?').run(f.weight, f.sessionId);
      return added;
    }),
    flags: (sessionId) => this.all(flagFromRow, 'SELECT * FROM session_flags WHERE session_id=? ORDER BY at, id', sessionId),
    // Keyset paging over the started_at index: page N costs the same as page 1 with 10,000+ sessions.
    list: (f) =>
      this.all(
        sessionFromRow,
        `SELECT * FROM sessions WHERE (@live IS NULL OR (ended_at IS NULL) = @live)
           AND (@user IS NULL OR user_id = @user) AND (@target IS NULL OR target_id = @target)
           AND (@protocol IS NULL OR protocol = @protocol) AND (@reason IS NULL OR end_reason = @reason)
           AND (@since IS NULL OR started_at >= @since) AND (@until IS NULL OR started_at < @until)
           AND (@beforeAt IS NULL OR started_at < @beforeAt OR (started_at = @beforeAt AND id < @beforeId))
           AND (@flagged IS NULL OR EXISTS (SELECT 1 FROM session_flags WHERE session_id = sessions.id))
           AND (@minScore IS NULL OR risk_score >= @minScore)
         ORDER BY ${f.order === 'score' ? 'risk_score DESC, ' : ''}started_at DESC, id DESC LIMIT @limit`,
        {
          live: f.live === undefined ? null : f.live ? 1 : 0, user: f.userId ?? null, target: f.targetId ?? null, protocol: f.protocol ?? null,
          reason: f.endReason ?? null, since: f.since ?? null, until: f.until ?? null, beforeAt: f.before?.startedAt ?? null,
          beforeId: f.before?.id ?? null, limit: Math.max(0, Math.min(f.limit ?? 100, 1000)),
          flagged: f.flagged ? 1 : null, minScore: f.minScore ?? null,
        },
      ),
  };

  readonly search: Store['search'] = {
    add: (entries) => this.tx.run(() => {
      const st = this.st('INSERT INTO recording_text (session_id, t, kind, text) VALUES (?, ?, ?, ?)');
      // A savepoint when called inside a store transaction, a transaction of its own otherwise.
      this.db.transaction(() => { for (const e of entries) st.run(e.sessionId, e.t, e.kind, e.text); })();
    }),
    query: (query, limit) => {
      // Each word becomes a quoted prefix term: user input never reaches FTS syntax.
      const terms = query.split(/\s+/).map((w) => w.replace(/"/g, '')).filter(Boolean).map((w) => `"${w}"*`).join(' ');
      if (!terms) return Promise.resolve([]);
      return this.all(
        (r) => ({ sessionId: String(r.session_id), t: Number(r.t), kind: String(r.kind) as SearchEntry['kind'], text: String(r.text) }),
        'SELECT session_id, t, kind, text FROM recording_text WHERE recording_text MATCH ? ORDER BY rank LIMIT ?', terms, limit,
      );
    },
  };

  readonly links: Store['links'] = {
    insert: (l) => this.insertRow('links', linkToRow(l)),
    byId: (id) => this.one(linkFromRow, 'SELECT * FROM links WHERE id=?', id),
    byTokenHash: (h) => this.one(linkFromRow, 'SELECT * FROM links WHERE token_hash=?', h),
    bySshCodeHash: (h) => this.one(linkFromRow, 'SELECT * FROM links WHERE ssh_code_hash=?', h),
    list: () => this.all(linkFromRow, 'SELECT * FROM links ORDER BY created_at DESC, id DESC'),
    update: (l) => this.updateRow('links', linkToRow(l)),
    // One statement: of any number of simultaneous opens, exactly as many as there are uses succeed.
    consume: async (id, now) => (await this.write(
      `UPDATE links SET uses_left = uses_left - 1, uses = uses + 1
         WHERE id=? AND status='active' AND revoked_at IS NULL AND expires_at>? AND uses_left>0`,
      id, now,
    )) === 1,
  };

  readonly handoffs: Store['handoffs'] = {
    insert: (h) => this.insertRow('login_handoffs', handoffToRow(h)),
    byId: (id) => this.one(handoffFromRow, 'SELECT * FROM login_handoffs WHERE id=?', id),
    // Single conditional statements: the state a racer reads is the state it changes.
    decide: async (id, state, userId, now) => (await this.write(
      "UPDATE login_handoffs SET state=?, user_id=? WHERE id=? AND state='pending' AND expires_at>?", state, userId, id, now,
    )) === 1,
    consume: async (id, secretHash, now, tokenId) => (await this.write(
      "UPDATE login_handoffs SET state='consumed', token_id=? WHERE id=? AND secret_hash=? AND state='approved' AND expires_at>?",
      tokenId, id, secretHash, now,
    )) === 1,
    removeExpired: (before) => this.write('DELETE FROM login_handoffs WHERE expires_at<=?', before),
  };

  readonly recordingKeys: Store['recordingKeys'] = {
    list: () => this.all((r) => ({ id: String(r.id), sealed: String(r.sealed), createdAt: Number(r.created_at) }),
      'SELECT * FROM recording_keys ORDER BY created_at DESC, id DESC'),
    insert: (k) => this.insertRow('recording_keys', { id: k.id, sealed: k.sealed, created_at: k.createdAt }),
  };

  readonly ephemeral: Store['ephemeral'] = {
    insert: (a) => this.insertRow('ephemeral_accounts', ephemeralToRow(a)),
    byId: (id) => this.one(ephemeralFromRow, 'SELECT * FROM ephemeral_accounts WHERE id=?', id),
    forGrant: (grantId) => this.one(ephemeralFromRow, "SELECT * FROM ephemeral_accounts WHERE grant_id=? AND state<>'dropped'", grantId),
    live: (f) => this.all(ephemeralFromRow,
      "SELECT * FROM ephemeral_accounts WHERE state<>'dropped' AND (@target IS NULL OR target_id=@target) ORDER BY created_at, id",
      { target: f?.targetId ?? null }),
    list: (f) => this.all(ephemeralFromRow,
      'SELECT * FROM ephemeral_accounts WHERE (@target IS NULL OR target_id=@target) ORDER BY created_at DESC, id DESC LIMIT @limit',
      { target: f.targetId ?? null, limit: Math.max(0, Math.min(f.limit ?? 100, 1000)) }),
    update: (a) => this.updateRow('ephemeral_accounts', ephemeralToRow(a)),
  };

  readonly findings: Store['findings'] = {
    list: (f) => this.all(findingFromRow,
      'SELECT * FROM discovery_findings WHERE (@target IS NULL OR target_id=@target) ORDER BY first_seen_at DESC, id DESC',
      { target: f.targetId ?? null }),
    byAccount: (targetId, account) => this.one(findingFromRow, 'SELECT * FROM discovery_findings WHERE target_id=? AND account=?', targetId, account),
    put: (f) => this.tx.run(() => {
      const row = findingToRow(f);
      const cols = Object.keys(row);
      this.st(`INSERT OR REPLACE INTO discovery_findings (${cols.join(', ')}) VALUES (${cols.map((c) => '@' + c).join(', ')})`).run(row);
    }),
    removeForTarget: (targetId) => this.none(this.write('DELETE FROM discovery_findings WHERE target_id=?', targetId)),
  };

  readonly kind = 'sqlite' as const;

  readonly nodes: Store['nodes'] = {
    join: (n, staleBefore) => this.tx.run(() => {
      const r = this.st(
        `INSERT INTO nodes (name, incarnation, state, version, started_at, heartbeat_at, ended_at)
           VALUES (@name, @incarnation, 'up', @version, @startedAt, @heartbeatAt, NULL)
         ON CONFLICT(name) DO UPDATE SET incarnation=excluded.incarnation, state='up', version=excluded.version,
           started_at=excluded.started_at, heartbeat_at=excluded.heartbeat_at, ended_at=NULL
         WHERE nodes.state<>'up' OR nodes.heartbeat_at<@staleBefore`,
      ).run({ name: n.name, incarnation: n.incarnation, version: n.version, startedAt: n.startedAt, heartbeatAt: n.heartbeatAt, staleBefore });
      return r.changes === 1;
    }),
    heartbeat: async (name, incarnation, now) =>
      (await this.write("UPDATE nodes SET heartbeat_at=MAX(heartbeat_at, ?) WHERE name=? AND incarnation=? AND state='up'", now, name, incarnation)) === 1,
    markLost: async (name, incarnation, staleBefore, now) =>
      (await this.write("UPDATE nodes SET state='lost', ended_at=? WHERE name=? AND incarnation=? AND state='up' AND heartbeat_at<?", now, name, incarnation, staleBefore)) === 1,
    leave: (name, incarnation, now) => this.none(this.write("UPDATE nodes SET state='left', ended_at=? WHERE name=? AND incarnation=? AND state='up'", now, name, incarnation)),
    byName: (name) => this.one(nodeFromRow, 'SELECT * FROM nodes WHERE name=?', name),
    list: () => this.all(nodeFromRow, 'SELECT * FROM nodes ORDER BY name'),
  };

  readonly claims: Store['claims'] = {
    claim: async (key, node, now) => (await this.write('INSERT INTO claims (key, node, at) VALUES (?, ?, ?) ON CONFLICT(key) DO NOTHING', key, node, now)) === 1,
    prune: (before) => this.write('DELETE FROM claims WHERE at<?', before),
  };

  readonly meta: Store['meta'] = {
    get: async (key) => (await this.one((r) => String(r.value), 'SELECT value FROM meta WHERE key=?', key)),
    putIfAbsent: (key, value) => this.tx.run(() => {
      this.st('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING').run(key, value);
      return String((this.st('SELECT value FROM meta WHERE key=?').get(key) as Row).value);
    }),
    put: (key, value) => this.none(this.write('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value', key, value)),
  };

  readonly rules: Store['rules'] = {
    insert: (r) => this.insertRow('rules', ruleToRow(r)),
    byName: (name) => this.one(ruleFromRow, 'SELECT * FROM rules WHERE name=?', name),
    list: () => this.all(ruleFromRow, 'SELECT * FROM rules ORDER BY created_at, id'),
    remove: async (name) => (await this.write('DELETE FROM rules WHERE name=?', name)) === 1,
  };

  readonly mysqlConnections: Store['mysqlConnections'] = {
    insert: (c) => this.insertRow('mysql_connections', {
      id: c.id, node: c.node, session_id: c.sessionId, user_id: c.userId, target_id: c.targetId, upstream_id: c.upstreamId,
    }),
    byId: (id) => this.one(mysqlConnectionFromRow, 'SELECT * FROM mysql_connections WHERE id=?', id),
    remove: (id) => this.none(this.write('DELETE FROM mysql_connections WHERE id=?', id)),
    removeForNode: (node) => this.none(this.write('DELETE FROM mysql_connections WHERE node=?', node)),
  };

  readonly notifications: Store['notifications'];

  sealedValues(): Promise<SealedValue[]> {
    return this.tx.run(() => {
      const targets = this.st('SELECT id, credential_sealed AS sealed FROM targets ORDER BY id').all() as Row[];
      const users = this.st('SELECT id, totp_sealed AS sealed FROM users WHERE totp_sealed IS NOT NULL ORDER BY id').all() as Row[];
      const keys = this.st('SELECT id, sealed FROM recording_keys ORDER BY id').all() as Row[];
      const pending = this.st('SELECT id, pending_credential_sealed AS sealed FROM targets WHERE pending_credential_sealed IS NOT NULL ORDER BY id').all() as Row[];
      const ephemeral = this.st('SELECT id, secret_sealed AS sealed FROM ephemeral_accounts WHERE secret_sealed IS NOT NULL ORDER BY id').all() as Row[];
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
    const [table, col] = SEALED_COLUMNS[v.table];
    return this.none(this.write(`UPDATE ${table} SET ${col}=? WHERE id=?`, v.sealed, v.id));
  }

  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.tx.transaction(fn);
  }

  close(): Promise<void> {
    // Behind the running transaction and everything queued: closing mid-transaction would lose it.
    return this.tx.exclusive(() => {
      if (this.db.open) this.db.close();
      return Promise.resolve();
    });
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
