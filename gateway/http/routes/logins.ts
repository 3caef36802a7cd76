// Logins approved in the browser (identity/handoffs.ts). The CLI begins one (public) and polls it
// with the secret only it was given; a person signed in to the console looks at it by id and
// approves or denies it. Approving needs the console's cookie session (and so its CSRF token): an
// API token cannot approve, so a script holding one cannot mint more sign-ins for its user.
// SSH handoffs are begun by the SSH listener only; here they can be looked at and decided.
import type { LoginBegun, LoginPoll, LoginView } from '../../api-types.js';
import { approvalUrl, type HandoffView } from '../../identity/handoffs.js';
import { PortcullisError } from '../../util/errors.js';
import { type Route, type RouteContext, route } from '../router.js';
import { COOKIE } from '../web-auth.js';
import { me } from './identity.js';

const iso = (ms: number): string => new Date(ms).toISOString();


function view(v: HandoffView, c: RouteContext): LoginView {
  return {
    id: v.id, kind: v.kind, state: v.state, code: v.code, from: v.addr, same_address: v.addr === c.addr, expires_at: iso(v.expiresAt),
    ssh_user: v.sshUser, ssh_target: v.sshTarget,
  };
}

/**
 * The request carries a console session: the cookie alone cannot tell (an API token holder can send
 * its token as the cookie too, with the CSRF token derived from it), so the token's own record must
 * be a browser sign-in's, of a person.
 */
async function fromConsole(c: RouteContext): Promise<void> {
  if (c.token === '' || c.cookie(COOKIE) !== c.token || me(c).kind !== 'human' || !(await c.services.authn.isBrowserSession(c.token))) {
    throw new PortcullisError('forbidden', 'approve or deny a sign-in in the web console, where you are signed in');
  }
}

export const loginRoutes: Route[] = [
  route('POST', '/api/v1/logins', 'public', async (c): Promise<LoginBegun> => {
    const kind = c.body.optStr('kind') ?? 'cli';
    if (kind !== 'cli') throw new PortcullisError('bad-request', 'kind must be "cli" (SSH logins begin at the SSH prompt)');
    const h = await c.services.handoffs.begin('cli', null, c.addr);
    return { id: h.id, url: approvalUrl(c.services.addresses.url, h.id), code: h.code, poll_secret: h.secret, expires_at: iso(h.expiresAt) };
  }),
  route('POST', '/api/v1/logins/:id/poll', 'public', async (c): Promise<LoginPoll> => {
    const r = await c.services.handoffs.poll(c.params.id!, c.body.str('secret'), c.addr);
    if (r.state !== 'approved') return { state: r.state };
    return { state: 'approved', token: r.token, user: r.user.name, roles: r.user.roles, expires_at: r.expiresAt === null ? null : iso(r.expiresAt) };
  }),
  route('GET', '/api/v1/logins/:id', 'any', async (c) => view(await c.services.handoffs.view(c.params.id!), c)),
  route('POST', '/api/v1/logins/:id/approve', 'any', async (c) => {
    await fromConsole(c);
    return view(await c.services.handoffs.approve(c.params.id!, me(c), c.addr), c);
  }),
  route('POST', '/api/v1/logins/:id/deny', 'any', async (c) => {
    await fromConsole(c);
    return view(await c.services.handoffs.deny(c.params.id!, me(c), c.addr), c);
  }),
];
