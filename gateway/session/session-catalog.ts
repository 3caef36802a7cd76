// The catalog of recorded sessions, for the API and the web console: list with filters and keyset
// paging, full-text search over what was typed, shown and run, and lookup of one session. Answers
// in outward shapes (names, not ids) so HTTP routes never touch the store.
// It does not: read recording files (the routes stream those), or change sessions (the session pipeline does).
import { type SessionView, sessionView } from '../access/views.js';
import type { SearchHit } from '../api-types.js';
import type { Store } from '../store/store.js';

export interface SessionQuery {
  /** User and target by name; an unknown name matches no session. */
  user?: string | undefined;
  target?: string | undefined;
  protocol?: string | undefined;
  endReason?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  /** Only sessions with a flag; only those scoring at least minScore; highest score first. */
  flagged?: boolean | undefined;
  minScore?: number | undefined;
  order?: 'started' | 'score' | undefined;
  /** Id of the last session of the previous page: the page continues after it. */
  before?: string | undefined;
  limit?: number | undefined;
}

export class SessionCatalog {
  constructor(private readonly store: Store) {}

  async list(q: SessionQuery): Promise<SessionView[]> {
    const user = q.user ? await this.store.users.byName(q.user) : undefined;
    const target = q.target ? await this.store.targets.byName(q.target) : undefined;
    if ((q.user && !user) || (q.target && !target)) return [];
    const cursor = q.before ? await this.store.sessions.byId(q.before) : undefined;
    const sessions = await this.store.sessions.list({
      userId: user?.id, targetId: target?.id, protocol: q.protocol, endReason: q.endReason, since: q.since, until: q.until,
      before: cursor ? { startedAt: cursor.startedAt, id: cursor.id } : undefined, limit: q.limit,
      flagged: q.flagged, minScore: q.minScore, order: q.order,
    });
    return Promise.all(sessions.map((s) => sessionView(this.store, s)));
  }

  /** Best matches first, each with the session it belongs to (null fields when that session is gone). */
  async search(text: string, limit: number): Promise<SearchHit[]> {
    const hits = await this.store.search.query(text, limit);
    return Promise.all(hits.map(async (h) => {
      const v = await this.get(h.sessionId);
      return { session: h.sessionId, t: h.t, kind: h.kind, text: h.text, protocol: v?.protocol ?? null, user: v?.user ?? null, target: v?.target ?? null };
    }));
  }

  async get(id: string): Promise<SessionView | undefined> {
    const s = await this.store.sessions.byId(id);
    return s && sessionView(this.store, s);
  }
}
