// Changing a password: one's own (with the current password, and the one-time code when enrolled)
// or, for an admin, another user's (a reset). Either way every API token and web session of that
// user ends (users.ts). Changing one's own, the caller's token ends too and a fresh one replaces
// it in the answer — a new cookie for a browser, a new token for the CLI — so that after the change
// exactly one credential of the user exists, the one in the owner's hands: a copied token file or
// cookie does not survive the change it may have prompted. Service accounts have no password.
import type { PasswordChanged, WebMe } from '../../api-types.js';
import { parseDuration } from '../../util/duration.js';
import { PortcullisError } from '../../util/errors.js';
import { type RawResponse, type Route, type RouteContext, route } from '../router.js';
import { COOKIE, csrfFor, sessionCookie } from '../web-auth.js';
import { me } from './identity.js';


export const passwordRoutes: Route[] = [
  route('POST', '/api/v1/users/:name/password', 'any', async (c): Promise<PasswordChanged | RawResponse> => {
    const self = me(c);
    const name = c.params.name!;
    const password = c.body.str('password');
    if (self.name !== name) {
      if (!self.roles.includes('admin')) throw new PortcullisError('forbidden', 'only an admin may set another user\'s password');
      const r = await c.services.users.setPassword(self.name, name, password, 'password-reset');
      return { updated: name, tokens_revoked: r.tokensRevoked };
    }
    return changeOwn(c, password);
  }),
];

async function changeOwn(c: RouteContext, password: string): Promise<PasswordChanged | RawResponse> {
  const self = me(c);
  if (self.kind === 'service') throw new PortcullisError('bad-request', `${self.name} is a service account: it authenticates with API tokens only, never a password`);
  if (self.passwordHash === null) throw new PortcullisError('bad-request', `${self.name} has no password yet; an admin sets the first one (portcullis user passwd ${self.name})`);
  const current = c.body.optStr('current_password');
  if (!current) throw new PortcullisError('bad-request', 'give your current password (current_password) to change your own; with the CLI: portcullis passwd --password-stdin');
  // The same proof as signing in, with its throttle and audit: a stolen session alone cannot
  // change the password, nor guess the current one faster than a login could.
  await c.services.authn.login({ user: self.name, password: current, totp: c.body.optStr('totp'), addr: c.addr, method: 'password-change' })
    .catch((err: unknown) => { c.services.counters.authFailures(); throw err; });
  // Read before the change ends the caller's token: a console session stays one, and an API token
  // sent as the cookie too does not become one (see logins.ts).
  const browser = c.cookie(COOKIE) === c.token && (await c.services.authn.isBrowserSession(c.token));
  const r = await c.services.users.setPassword(self.name, self.name, password, 'password-changed');
  // The caller's own token was among them (it authenticated this request); a new one replaces it.
  const others = Math.max(0, r.tokensRevoked - 1);
  const ttlMs = parseDuration(c.services.config.api.tokenTtl);
  const fresh = await c.services.authn.issueToken(self.name, self, browser ? 'web' : 'login', ttlMs);
  if (browser) {
    // The cookie stays HttpOnly: the page gets only the CSRF token that goes with the new session.
    const body: WebMe & { tokens_revoked: number } = { user: self.name, roles: self.roles, csrf: csrfFor(fresh.token), tokens_revoked: others };
    return { status: 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body), headers: { 'set-cookie': sessionCookie(fresh.token, Math.floor(ttlMs / 1000)) } };
  }
  return { updated: self.name, tokens_revoked: others, token: fresh.token, expires_at: new Date(fresh.expiresAt!).toISOString() };
}
