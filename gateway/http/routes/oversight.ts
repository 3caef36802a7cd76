// Audit log, vault key rotation, live sessions, metrics and health.
import { sessionView } from '../../access/views.js';
import { verifyChain } from '../../audit/audit-log.js';
import { PortcullisError } from '../../util/errors.js';
import { type Route, route } from '../router.js';
import { me } from './identity.js';

export const oversightRoutes: Route[] = [
  route('GET', '/api/v1/audit', ['investigator'], (c) => {
    const after = Number(c.query.get('after') ?? 0);
    const limit = Math.min(Number(c.query.get('limit') ?? 1000), 10_000);
    if (!Number.isInteger(after) || !Number.isInteger(limit) || after < 0 || limit < 1) throw new PortcullisError('bad-request', 'after and limit must be whole numbers');
    return c.app.audit.page(after, limit);
  }),
  route('GET', '/api/v1/audit/verify', ['investigator'], (c) => verifyChain(c.app.store)),
  route('POST', '/api/v1/vault/rotate-key', ['admin'], (c) => {
    const r = c.app.creds.rotateKey();
    c.app.audit.append('vault.rotated', me(c).name, { keyId: r.keyId, resealed: r.resealed });
    return { key_id: r.keyId, resealed: r.resealed };
  }),
  route('GET', '/api/v1/sessions', ['investigator'], (c) => {
    if (c.query.get('live') === '1') return c.app.live.list();
    return c.app.store.sessions.list({ limit: 1000 }).map((s) => sessionView(c.app.store, s));
  }),
  route('POST', '/api/v1/sessions/:id/kill', ['admin'], (c) => {
    const id = c.params.id!;
    if (!c.app.live.close(id, 'killed-by-admin')) throw new PortcullisError('not-found', `no live session "${id}"; see "portcullis session list --live"`);
    c.app.audit.append('session.killed', me(c).name, { session: id, by: me(c).name });
    return { killed: id };
  }),
  route('GET', '/metrics', 'public', (c) => ({ status: 200, contentType: 'text/plain; version=0.0.4', body: c.app.metrics.render() })),
  route('GET', '/healthz', 'public', () => ({ ok: true })),
];
