// Requests, approvals, grants and break-glass. Requesters see their own; approvers and admins see all.
import type { UserRecord } from '../../store/records.js';
import { parseDuration } from '../../util/duration.js';
import { PortcullisError } from '../../util/errors.js';
import { type Route, route } from '../router.js';
import { me } from './identity.js';

const seesAll = (u: UserRecord): boolean => ['admin', 'approver', 'investigator'].some((r) => u.roles.includes(r));

export const workflowRoutes: Route[] = [
  route('POST', '/api/v1/requests', 'any', async (c) => {
    const r = await c.services.requests.create(me(c), {
      target: c.body.str('target'), durationMs: parseDuration(c.body.str('for')), reason: c.body.optStr('reason'), ticket: c.body.optStr('ticket'),
      level: c.body.optStr('level'),
    });
    return c.services.requests.view(r);
  }),
  route('GET', '/api/v1/requests', 'any', async (c) => {
    const u = me(c);
    const list = await c.services.requests.list({ pending: c.query.get('pending') === '1', userId: seesAll(u) ? undefined : u.id });
    return Promise.all(list.map((r) => c.services.requests.view(r)));
  }),
  route('POST', '/api/v1/requests/:id/approve', 'any', async (c) => c.services.requests.view(await c.services.requests.approve(me(c), c.params.id!))),
  route('POST', '/api/v1/requests/:id/deny', 'any', async (c) => c.services.requests.view(await c.services.requests.deny(me(c), c.params.id!, c.body.optStr('reason') ?? ''))),
  route('GET', '/api/v1/grants', 'any', async (c) => {
    const u = me(c);
    const list = await c.services.grants.list({ active: c.query.get('active') === '1', userId: seesAll(u) ? undefined : u.id });
    return Promise.all(list.map((g) => c.services.grants.view(g)));
  }),
  route('POST', '/api/v1/grants', ['admin'], async (c) => {
    const g = await c.services.grants.adminGrant(me(c), c.body.str('user'), c.body.str('target'), parseDuration(c.body.str('for')), c.body.optStr('reason') ?? '', c.body.optStr('ticket') ?? null, c.body.optStr('level'));
    return c.services.grants.view(g);
  }),
  route('POST', '/api/v1/grants/:id/revoke', ['approver'], async (c) => {
    const g = await c.services.grants.revoke(me(c), c.params.id!, c.body.optStr('reason') ?? 'revoked');
    return c.services.grants.view(g);
  }),
  route('POST', '/api/v1/grants/:id/extend', 'any', async (c) => {
    const g = await c.services.grants.extend(me(c), c.params.id!, parseDuration(c.body.str('by')));
    return c.services.grants.view(g);
  }),
  route('POST', '/api/v1/grants/:id/review', 'any', async (c) => {
    const verdict = c.body.str('verdict');
    if (verdict !== 'accepted' && verdict !== 'denied') throw new PortcullisError('bad-request', 'verdict must be "accepted" or "denied"');
    const g = await c.services.grants.review(me(c), c.params.id!, verdict, c.body.optStr('reason') ?? '');
    return c.services.grants.view(g);
  }),
  route('POST', '/api/v1/db-password', 'any', async (c) => {
    const r = await c.services.grants.issueDbPassword(me(c), c.body.str('target'), c.body.optStr('level'));
    return { password: r.password, expires_at: new Date(r.expiresAt).toISOString() };
  }),
  route('POST', '/api/v1/breakglass', 'any', async (c) => {
    const dur = c.body.optStr('for');
    const g = await c.services.breakglass.use(me(c), c.body.str('target'), c.body.optStr('reason'), dur ? parseDuration(dur) : undefined, c.body.optStr('level'));
    return c.services.grants.view(g);
  }),
];
