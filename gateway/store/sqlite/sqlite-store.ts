// The SQLite store (better-sqlite3, WAL). Implements Store; nothing else in the code base writes SQL.
// Statements are prepared once and cached. Unique-constraint violations become `conflict` errors.
import Database from 'better-sqlite3';
import { PortcullisError } from '../../util/errors.js';
import type { AuditRow, GrantRecord } from '../records.js';
import type { SealedValue, Store } from '../store.js';
import { migrate } from './migrations.js';
import {
  type Row, grantFromRow, grantToRow, linkFromRow, linkToRow, policyFromRow, policyToRow, requestFromRow, requestToRow,
  sessionFromRow, targetFromRow, targetToRow, tokenFromRow, userFromRow, userToRow,
} from './rows.js';

export function openSqliteStore(file: string): Store {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return new SqliteStore(db);
}

class SqliteStore implements Store {
  private cache = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  private st(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  private all(sql: string, ...params: unknown[]): Row[] {
    return this.st(sql).all(...params) as Row[];
  }

  private one(sql: string, ...params: unknown[]): Row | undefined {
    return this.st(sql).get(...params) as Row | undefined;
  }

  private insertRow(table: string, row: Row): void {
    const cols = Object.keys(row);
    try {
      this.st(`INSERT INTO ${table} (${cols.join(',')}) VALUES (${cols.map((c) => '@' + c).join(',')})`).run(row);
    } catch (err) {
      if (err instanceof Error && /UNIQUE constraint/.test(err.message)) {
        throw new PortcullisError('conflict', `${table.replace(/s$/, '')} "${String(row.name ?? row.id)}" already exists`);
      }
      throw err;
    }
  }

  private updateRow(table: string, row: Row): void {
    const cols = Object.keys(row).filter((c) => c !== 'id');
    this.st(`UPDATE ${table} SET ${cols.map((c) => `${c}=@${c}`).join(',')} WHERE id=@id`).run(row);
  }

  readonly users: Store['users'] = {
    insert: (u) => this.insertRow('users', userToRow(u)),
    byName: (name) => { const r = this.one('SELECT * FROM users WHERE name=?', name); return r && userFromRow(r); },
    byId: (id) => { const r = this.one('SELECT * FROM users WHERE id=?', id); return r && userFromRow(r); },
    list: () => this.all('SELECT * FROM users ORDER BY name').map(userFromRow),
    update: (u) => this.updateRow('users', userToRow(u)),
    remove: (id) => { this.st('DELETE FROM users WHERE id=?').run(id); },
  };

  readonly targets: Store['targets'] = {
    insert: (t) => this.insertRow('targets', targetToRow(t)),
    byName: (name) => { const r = this.one('SELECT * FROM targets WHERE name=?', name); return r && targetFromRow(r); },
    byId: (id) => { const r = this.one('SELECT * FROM targets WHERE id=?', id); return r && targetFromRow(r); },
    list: () => this.all('SELECT * FROM targets ORDER BY name').map(targetFromRow),
    update: (t) => this.updateRow('targets', targetToRow(t)),
    remove: (id) => { this.st('DELETE FROM targets WHERE id=?').run(id); },
  };

  readonly policies: Store['policies'] = {
    insert: (p) => this.insertRow('policies', policyToRow(p)),
    byName: (name) => { const r = this.one('SELECT * FROM policies WHERE name=?', name); return r && policyFromRow(r); },
    byId: (id) => { const r = this.one('SELECT * FROM policies WHERE id=?', id); return r && policyFromRow(r); },
    list: () => this.all('SELECT * FROM policies ORDER BY name').map(policyFromRow),
    remove: (id) => { this.st('DELETE FROM policies WHERE id=?').run(id); },
  };

  readonly requests: Store['requests'] = {
    insert: (q) => this.insertRow('requests', requestToRow(q)),
    byId: (id) => { const r = this.one('SELECT * FROM requests WHERE id=?', id); return r && requestFromRow(r); },
    list: ({ status, userId }) =>
      this.all(
        'SELECT * FROM requests WHERE (@status IS NULL OR status=@status) AND (@user IS NULL OR user_id=@user) ORDER BY created_at',
        { status: status ?? null, user: userId ?? null },
      ).map(requestFromRow),
    update: (q) => this.updateRow('requests', requestToRow(q)),
    overdue: (now) => this.all("SELECT * FROM requests WHERE status='pending' AND pending_until<=?", now).map(requestFromRow),
  };

  readonly approvals: Store['approvals'] = {
    insert: (a) => this.insertRow('approvals', { subject_id: a.subjectId, approver_id: a.approverId, kind: a.kind, at: a.at }),
    forSubject: (subjectId, kind) =>
      this.all('SELECT * FROM approvals WHERE subject_id=? AND kind=? ORDER BY at', subjectId, kind).map((r) => ({
        subjectId: String(r.subject_id), approverId: String(r.approver_id), kind, at: Number(r.at),
      })),
  };

  readonly grants: Store['grants'] = {
    insert: (g) => this.insertRow('grants', grantToRow(g)),
    byId: (id) => { const r = this.one('SELECT * FROM grants WHERE id=?', id); return r && grantFromRow(r); },
    active: (now, filter) =>
      this.all(
        `SELECT * FROM grants WHERE revoked_at IS NULL AND starts_at<=@now AND expires_at>@now
           AND (@user IS NULL OR user_id=@user) AND (@target IS NULL OR target_id=@target) ORDER BY expires_at DESC`,
        { now, user: filter?.userId ?? null, target: filter?.targetId ?? null },
      ).map(grantFromRow),
    list: ({ userId }) =>
      this.all('SELECT * FROM grants WHERE (@user IS NULL OR user_id=@user) ORDER BY created_at', { user: userId ?? null })
        .map(grantFromRow),
    update: (g: GrantRecord) => this.updateRow('grants', grantToRow(g)),
  };

  readonly tokens: Store['tokens'] = {
    insert: (t) => this.insertRow('api_tokens', {
      id: t.id, user_id: t.userId, hash: t.hash, label: t.label, expires_at: t.expiresAt, created_at: t.createdAt,
    }),
    byHash: (hash) => { const r = this.one('SELECT * FROM api_tokens WHERE hash=?', hash); return r && tokenFromRow(r); },
    removeForUser: (userId) => { this.st('DELETE FROM api_tokens WHERE user_id=?').run(userId); },
    removeByHash: (hash) => { this.st('DELETE FROM api_tokens WHERE hash=?').run(hash); },
    removeExpired: (now) => { this.st('DELETE FROM api_tokens WHERE expires_at IS NOT NULL AND expires_at<=?').run(now); },
  };

  readonly audit: Store['audit'] = {
    last: () => { const r = this.one('SELECT * FROM audit ORDER BY seq DESC LIMIT 1'); return r && auditFromRow(r); },
    insert: (a) => this.insertRow('audit', {
      seq: a.seq, ts: a.ts, code: a.code, actor: a.actor, data: a.data, prev_hash: a.prevHash, hash: a.hash,
    }),
    page: (afterSeq, limit) => this.all('SELECT * FROM audit WHERE seq>? ORDER BY seq LIMIT ?', afterSeq, limit).map(auditFromRow),
  };

  readonly sessions: Store['sessions'] = {
    insert: (s) => this.insertRow('sessions', {
      id: s.id, protocol: s.protocol, user_id: s.userId, target_id: s.targetId, grant_id: s.grantId,
      client_addr: s.clientAddr, started_at: s.startedAt, ended_at: s.endedAt, end_reason: s.endReason, recording: s.recording,
    }),
    end: (id, endedAt, reason) => {
      this.st('UPDATE sessions SET ended_at=?, end_reason=? WHERE id=? AND ended_at IS NULL').run(endedAt, reason, id);
    },
    byId: (id) => { const r = this.one('SELECT * FROM sessions WHERE id=?', id); return r && sessionFromRow(r); },
    // Keyset paging over the started_at index: page N costs the same as page 1 with 10,000+ sessions.
    list: (f) =>
      this.all(
        `SELECT * FROM sessions WHERE (@live IS NULL OR (ended_at IS NULL) = @live)
           AND (@user IS NULL OR user_id = @user) AND (@target IS NULL OR target_id = @target)
           AND (@protocol IS NULL OR protocol = @protocol) AND (@reason IS NULL OR end_reason = @reason)
           AND (@since IS NULL OR started_at >= @since) AND (@until IS NULL OR started_at < @until)
           AND (@beforeAt IS NULL OR started_at < @beforeAt OR (started_at = @beforeAt AND id < @beforeId))
         ORDER BY started_at DESC, id DESC LIMIT @limit`,
        {
          live: f.live === undefined ? null : f.live ? 1 : 0, user: f.userId ?? null, target: f.targetId ?? null, protocol: f.protocol ?? null,
          reason: f.endReason ?? null, since: f.since ?? null, until: f.until ?? null, beforeAt: f.before?.startedAt ?? null,
          beforeId: f.before?.id ?? null, limit: Math.min(f.limit ?? 100, 1000),
        },
      ).map(sessionFromRow),
  };

  readonly search: Store['search'] = {
    add: (entries) => {
      const st = this.st('INSERT INTO recording_text (session_id, t, kind, text) VALUES (?, ?, ?, ?)');
      this.db.transaction(() => { for (const e of entries) st.run(e.sessionId, e.t, e.kind, e.text); })();
    },
    query: (query, limit) => {
      // Each word becomes a quoted prefix term: user input never reaches FTS syntax.
      const terms = query.split(/\s+/).map((w) => w.replace(/"/g, '')).filter(Boolean).map((w) => `"${w}"*`).join(' ');
      if (!terms) return [];
      return this.all('SELECT session_id, t, kind, text FROM recording_text WHERE recording_text MATCH ? ORDER BY rank LIMIT ?', terms, limit)
        .map((r) => ({ sessionId: String(r.session_id), t: Number(r.t), kind: String(r.kind) as 'input' | 'output' | 'sql', text: String(r.text) }));
    },
  };

  readonly links: Store['links'] = {
    insert: (l) => this.insertRow('links', linkToRow(l)),
    byId: (id) => { const r = this.one('SELECT * FROM links WHERE id=?', id); return r && linkFromRow(r); },
    byTokenHash: (h) => { const r = this.one('SELECT * FROM links WHERE token_hash=?', h); return r && linkFromRow(r); },
    bySshCodeHash: (h) => { const r = this.one('SELECT * FROM links WHERE ssh_code_hash=?', h); return r && linkFromRow(r); },
    list: () => this.all('SELECT * FROM links ORDER BY created_at DESC').map(linkFromRow),
    update: (l) => this.updateRow('links', linkToRow(l)),
    // One statement: of any number of simultaneous opens, exactly as many as there are uses succeed.
    consume: (id, now) => this.st(
      `UPDATE links SET uses_left = uses_left - 1, uses = uses + 1
         WHERE id=? AND status='active' AND revoked_at IS NULL AND expires_at>? AND uses_left>0`,
    ).run(id, now).changes === 1,
  };

  sealedValues(): SealedValue[] {
    const targets = this.all('SELECT id, credential_sealed AS sealed FROM targets');
    const users = this.all('SELECT id, totp_sealed AS sealed FROM users WHERE totp_sealed IS NOT NULL');
    return [
      ...targets.map((r) => ({ table: 'targets' as const, id: String(r.id), sealed: String(r.sealed) })),
      ...users.map((r) => ({ table: 'users' as const, id: String(r.id), sealed: String(r.sealed) })),
    ];
  }

  replaceSealed(v: SealedValue): void {
    const col = v.table === 'targets' ? 'credential_sealed' : 'totp_sealed';
    this.st(`UPDATE ${v.table} SET ${col}=? WHERE id=?`).run(v.sealed, v.id);
  }

  transaction<T>(fn: () => T): T {
    // better-sqlite3 turns nested transaction() calls into savepoints, which is what we want.
    return this.db.transaction(fn)();
  }

  close(): void {
    this.db.close();
  }
}

function auditFromRow(r: Row): AuditRow {
  return {
    seq: Number(r.seq), ts: Number(r.ts), code: String(r.code), actor: String(r.actor), data: String(r.data),
    prevHash: String(r.prev_hash), hash: String(r.hash),
  };
}
