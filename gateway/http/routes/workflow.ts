// Requests, approvals, grants and break-glass. Requesters see their own; approvers and admins see all.
import { grantView, requestView } from '../../access/views.js';
import type { UserRecord } from '../../store/records.js';
import { parseDuration } from '../../util/duration.js';
import { PortcullisError } from '../../util/errors.js';
import { type Route, route } from '../router.js';
import { me } from './identity.js';

const seesAll = (u: UserRecord): boolean => ['admin', 'approver', 'investigator'].some((r) => u.roles.includes(r));

export const workflowRoutes: Route[] = [
  route('POST', '/api/v1/requests', 'any', (c) => {
    const r = c.app.requests.create(me(c), {
      target: c.body.str('target'), durationMs: parseDuration(c.body.str('for')), reason: c.body.optStr('reason'), ticket: c.body.optStr('ticket'),
    });
    return requestView(c.app.store, r);
  }),
  route('GET', '/api/v1/requests', 'any', (c) => {
    const u = me(c);
    const list = c.app.requests.list({ pending: c.query.get('pending') === '1', userId: seesAll(u) ? undefined : u.id });
    return list.map((r) => requestView(c.app.store, r));
  }),
  route('POST', '/api/v1/requests/:id/approve', 'any', (c) => requestView(c.app.store, c.app.requests.approve(me(c), c.params.id!))),
  route('POST', '/api/v1/requests/:id/deny', 'any', (c) => requestView(c.app.store, c.app.requests.deny(me(c), c.params.id!, c.body.optStr('reason') ?? ''))),
  route('GET', '/api/v1/grants', 'any', (c) => {
    const u = me(c);
    const list = c.app.grants.list({ active: c.query.get('active') === '1', userId: seesAll(u) ? undefined : u.id });
    return list.map((g) => grantView(c.app.store, g, c.app.clock.now()));
  }),
  route('POST', '/api/v1/grants', ['admin'], (c) => {
    const g = c.app.grants.adminGrant(me(c), c.body.str('user'), c.body.str('target'), parseDuration(c.body.str('for')), c.body.optStr('reason') ?? '', c.body.optStr('ticket') ?? null);
    return grantView(c.app.store, g, c.app.clock.now());
  }),
  route('POST', '/api/v1/grants/:id/revoke', ['approver'], (c) => {
    const g = c.app.grants.revoke(me(c), c.params.id!, c.body.optStr('reason') ?? 'revoked');
    return grantView(c.app.store, g, c.app.clock.now());
  }),
  route('POST', '/api/v1/grants/:id/extend', 'any', (c) => {
    const g = c.app.grants.extend(me(c), c.params.id!, parseDuration(c.body.str('by')));
    return grantView(c.app.store, g, c.app.clock.now());
  }),
  route('POST', '/api/v1/grants/:id/review', 'any', (c) => {
    const verdict = c.body.str('verdict');
    if (verdict !== 'accepted' && verdict !== 'denied') throw new PortcullisError('bad-request', 'verdict must be "accepted" or "denied"');
    const g = c.app.grants.review(me(c), c.params.id!, verdict, c.body.optStr('reason') ?? '');
    return grantView(c.app.store, g, c.app.clock.now());
  }),
  route('POST', '/api/v1/db-password', 'any', (c) => {
    const r = c.app.grants.issueDbPassword(me(c), c.body.str('target'));
    return { password: r.password, expires_at: new Date(r.expiresAt).toISOString() };
  }),
  route('POST', '/api/v1/breakglass', 'any', (c) => {
    const dur = c.body.optStr('for');
    const g = c.app.breakglass.use(me(c), c.body.str('target'), c.body.optStr('reason'), dur ? parseDuration(dur) : undefined);
    return grantView(c.app.store, g, c.app.clock.now());
  }),
];
