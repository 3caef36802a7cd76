// Audit log, vault key rotation, live sessions, revealing sealed masked input, metrics and health.
import type { MaskedSpanList, RevealedSpan, SearchHit, SessionDetail } from '../../api-types.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isServableRecordingFile, RecordingLayout, STATEMENTS_FILE } from '../../../recorder/layout.js';
import { readStatements } from '../../../recorder/statement-reader.js';
import type { StatementPage } from '../../../recorder/statement-record.js';
import { PortcullisError } from '../../util/errors.js';

const MAX_RECORDING_BYTES = 256 * 1024 * 1024;
/** Statements per reply: a busy session has millions; the viewer pages through them. */
const MAX_STATEMENTS_PAGE = 50_000;
import { type RawResponse, type Route, route } from '../router.js';
import { me } from './identity.js';

/** `flagged=1`, `min_score=N`, `order=score|started` (risk, gateway/risk/). */
function riskQuery(q: URLSearchParams): { flagged?: boolean; minScore?: number; order?: 'started' | 'score' } {
  const flagged = q.get('flagged');
  if (flagged !== null && flagged !== '0' && flagged !== '1') throw new PortcullisError('bad-request', 'flagged must be 1 or 0');
  const min = q.get('min_score');
  if (min !== null && !/^\d{1,9}$/.test(min)) throw new PortcullisError('bad-request', 'min_score must be a whole number');
  const order = q.get('order');
  if (order !== null && order !== 'score' && order !== 'started') throw new PortcullisError('bad-request', 'order must be score or started');
  return { ...(flagged === '1' ? { flagged: true } : {}), ...(min !== null ? { minScore: Number(min) } : {}), ...(order ? { order } : {}) };
}

export const oversightRoutes: Route[] = [
  route('GET', '/api/v1/audit', ['investigator'], (c) => {
    const after = Number(c.query.get('after') ?? 0);
    const limit = Math.min(Number(c.query.get('limit') ?? 1000), 10_000);
    if (!Number.isInteger(after) || !Number.isInteger(limit) || after < 0 || limit < 1) throw new PortcullisError('bad-request', 'after and limit must be whole numbers');
    return c.services.audit.page(after, limit);
  }),
  route('GET', '/api/v1/audit/verify', ['investigator'], (c) => c.services.audit.verify()),
  route('POST', '/api/v1/vault/rotate-key', ['admin'], async (c) => {
    const r = await c.services.creds.rotateKey({ keepOld: c.body.optBool('keep_old') ?? false });
    const oldKey = r.oldKeyRemoved ? 'removed' as const : r.verified ? 'kept' as const : 'kept-unverified' as const;
    await c.services.audit.append('vault.rotated', me(c).name, { keyId: r.keyId, resealed: r.resealed, oldKey });
    return { key_id: r.keyId, resealed: r.resealed, verified: r.verified, old_key: oldKey };
  }),
  route('GET', '/api/v1/sessions', ['investigator'], (c) => {
    // Every node's live sessions (this node's from its registry, the others' from the store).
    if (c.query.get('live') === '1') return c.services.cluster.sessions.listLive();
    const q = c.query;
    const time = (name: string): number | undefined => (q.get(name) ? Date.parse(q.get(name)!) : undefined);
    return c.services.sessions.list({
      user: q.get('user') ?? undefined, target: q.get('target') ?? undefined, protocol: q.get('protocol') ?? undefined,
      endReason: q.get('reason') ?? undefined, since: time('since'), until: time('until'), before: q.get('before') ?? undefined,
      limit: Number(q.get('limit') ?? 1000), ...riskQuery(q),
    });
  }),
  route('GET', '/api/v1/search', ['investigator'], (c): Promise<SearchHit[]> => {
    const q = (c.query.get('q') ?? '').slice(0, 200);
    const limit = Math.min(Number(c.query.get('limit') ?? 50), 200);
    return c.services.sessions.search(q, limit);
  }),
  route('GET', '/api/v1/sessions/:id', ['investigator'], async (c): Promise<SessionDetail> => {
    const s = await c.services.sessions.get(c.params.id!);
    if (!s) throw new PortcullisError('not-found', `no session "${c.params.id}"; see "portcullis session list"`);
    return { ...s, recording: RecordingLayout.of(c.services.paths.recordings, s.id).servableFiles() };
  }),
  route('GET', '/api/v1/sessions/:id/recording/:file', ['investigator'], async (c) => {
    const s = await c.services.sessions.get(c.params.id!);
    if (!s) throw new PortcullisError('not-found', `no session "${c.params.id}"`);
    const file = c.params.file!;
    // Only the names the recorder writes: nothing else in the data dir is reachable this way.
    if (!isServableRecordingFile(file)) throw new PortcullisError('bad-request', `"${file}" is not a recording file name`);
    const path = RecordingLayout.of(c.services.paths.recordings, s.id).file(file);
    if (!existsSync(path)) throw new PortcullisError('not-found', `session ${s.id} has no ${file}`);
    if (statSync(path).size > MAX_RECORDING_BYTES) throw new PortcullisError('payload-too-large', `${file} is over ${MAX_RECORDING_BYTES} bytes; read it from the data dir`);
    await c.services.audit.append('recording.viewed', me(c).name, { session: s.id, file, by: me(c).name });
    const contentType = file.endsWith('.json') || file.endsWith('.ndjson') || file.endsWith('.cast') ? 'application/x-ndjson; charset=utf-8'
      : file.endsWith('.sql') ? 'text/plain; charset=utf-8' : 'application/octet-stream';
    return { status: 200, contentType, body: readFileSync(path, 'utf8') };
  }),
  // A database session's statements in the current schema, whatever version wrote them.
  route('GET', '/api/v1/sessions/:id/statements', ['investigator'], async (c): Promise<StatementPage> => {
    const s = await c.services.sessions.get(c.params.id!);
    if (!s) throw new PortcullisError('not-found', `no session "${c.params.id}"`);
    const from = Number(c.query.get('from') ?? 0);
    const limit = Math.min(Number(c.query.get('limit') ?? MAX_STATEMENTS_PAGE), MAX_STATEMENTS_PAGE);
    if (!Number.isInteger(from) || !Number.isInteger(limit) || from < 0 || limit < 1) throw new PortcullisError('bad-request', 'from and limit must be whole numbers');
    const path = RecordingLayout.of(c.services.paths.recordings, s.id).statements;
    if (!existsSync(path)) throw new PortcullisError('not-found', `session ${s.id} has no statements (only database sessions do)`);
    await c.services.audit.append('recording.viewed', me(c).name, { session: s.id, file: STATEMENTS_FILE, by: me(c).name });
    const hint = s.protocol === 'postgres' || s.protocol === 'mysql' ? s.protocol : undefined;
    return readStatements(path, hint, { from, limit });
  }),
  // Where a channel's masked spans are: times and piece counts, no text (the markers say as much).
  route('GET', '/api/v1/sessions/:id/masked', ['investigator'], (c): Promise<MaskedSpanList> => {
    const channel = c.query.get('channel');
    if (channel !== null && !/^\d{1,6}$/.test(channel)) throw new PortcullisError('bad-request', 'channel must be a whole number');
    return c.services.reveals.list(c.params.id!, channel === null ? undefined : Number(channel));
  }),
  // Admins only (investigators replay what viewers see, masked): decrypts one sealed masked-input
  // span. POST, with the reason in the body: a URL ends up in access logs, a body does not.
  route('POST', '/api/v1/sessions/:id/reveal', ['admin'], async (c): Promise<RawResponse> => {
    const revealed: RevealedSpan = await c.services.reveals.reveal({
      session: c.params.id!, at: c.body.optNum('at'), span: c.body.optNum('span'), channel: c.body.optNum('channel'),
      by: me(c).name, reason: c.body.optStr('reason'),
    });
    // The text is a secret once shown: no cache may keep it.
    return { status: 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(revealed), headers: { 'cache-control': 'no-store' } };
  }),
  route('POST', '/api/v1/sessions/:id/kill', ['admin'], async (c) => {
    const id = c.params.id!;
    // Live here: closed now. Live on another node: its owner closes it (bounded wait for the record).
    if (!c.services.live.close(id, 'killed-by-admin')) {
      const remote = await c.services.cluster.sessions.kill(id, me(c).name);
      if (remote.outcome === 'not-live') throw new PortcullisError('not-found', `no live session "${id}"; see "portcullis session list --live"`);
    }
    await c.services.audit.append('session.killed', me(c).name, { session: id, by: me(c).name });
    return { killed: id };
  }),
  route('GET', '/metrics', 'public', (c) => ({ status: 200, contentType: 'text/plain; version=0.0.4', body: c.services.metrics.render() })),
  route('GET', '/healthz', 'public', () => ({ ok: true })),
];
