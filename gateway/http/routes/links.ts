// One-time links: issuing, listing, approving and revoking them (signed-in users, per policy), and
// the vendor's side (public: the token is the credential): what the link is, and opening it.
// The token travels in request bodies, never in a query string a log might keep.
import { sshCodeOf } from '../../access/links.js';
import type { LinkCreated, LinkInfo, LinkOpened } from '../../api-types.js';
import { parseDuration } from '../../util/duration.js';
import { PortcullisError } from '../../util/errors.js';
import { sha256Hex } from '../../util/ids.js';
import type { VendorTerminal } from '../../web-terminal/vendor-terminal.js';
import { type RawResponse, type Route, type RouteContext, route } from '../router.js';
import { LINK_COOKIE, linkCookie } from '../web-auth.js';
import { me } from './identity.js';


/** This browser's running terminal for this link, if it has one (a reload within the grace period). */
function resumable(c: RouteContext, token: string): VendorTerminal | undefined {
  const t = c.composed.vendorTerminals.byResume(c.cookie(LINK_COOKIE));
  return t && t.opening.link.tokenHash === sha256Hex(token) ? t : undefined;
}

export const linkRoutes: Route[] = [
  route('POST', '/api/v1/links', 'any', async (c): Promise<LinkCreated> => {
    const uses = c.body.optNum('uses');
    const sessionMax = c.body.optStr('session_max');
    const { link, token } = await c.services.links.create(me(c), {
      target: c.body.str('target'), ttlMs: parseDuration(c.body.str('ttl')), label: c.body.optStr('label') ?? '', level: c.body.optStr('level'),
      ...(uses !== undefined ? { uses } : {}), ...(sessionMax ? { sessionMaxMs: parseDuration(sessionMax) } : {}),
    });
    // The only time the token leaves the gateway: to the issuer, inside the URL.
    return { ...(await c.services.links.view(link)), url: `${c.services.addresses.url}/l/${token}` };
  }),
  route('GET', '/api/v1/links', 'any', async (c) => Promise.all((await c.services.links.list(me(c))).map((l) => c.services.links.view(l)))),
  route('POST', '/api/v1/links/:id/approve', 'any', async (c) => c.services.links.view(await c.services.links.approve(me(c), c.params.id!))),
  route('POST', '/api/v1/links/:id/revoke', 'any', async (c) => c.services.links.view(await c.services.links.revoke(me(c), c.params.id!))),

  route('POST', '/api/v1/l/info', 'public', async (c): Promise<LinkInfo> => {
    const token = c.body.str('token');
    const t = resumable(c, token);
    const { link, target, issuer } = t ? { link: t.opening.link, target: t.opening.auth.target, issuer: t.opening.issuer } : await c.services.links.inspect(token, c.addr);
    const { sshHost, sshPort } = c.services.addresses;
    return {
      label: link.label, target: target.name, issuer, expires_at: new Date(link.expiresAt).toISOString(),
      session_max_s: link.sessionMaxMs / 1000, uses_left: link.usesLeft, recorded: true, resumable: Boolean(t),
      ssh: `ssh -p ${sshPort} link-${sshCodeOf(token)}@${sshHost}`,
    };
  }),
  route('POST', '/api/v1/l/open', 'public', async (c): Promise<RawResponse> => {
    const token = c.body.str('token');
    const again = resumable(c, token);
    if (again) return json({ terminal: again.id, resumed: true } satisfies LinkOpened);
    const cols = Math.min(Math.max(Math.trunc(c.body.optNum('cols') ?? 80), 10), 500);
    const rows = Math.min(Math.max(Math.trunc(c.body.optNum('rows') ?? 24), 5), 200);
    if (!Number.isFinite(cols) || !Number.isFinite(rows)) throw new PortcullisError('bad-request', 'cols and rows must be numbers');
    const opening = await c.services.links.open(token, c.addr);
    const { terminal, resume } = await c.composed.vendorTerminals.start(opening, c.addr, cols, rows);
    const maxAge = Math.max(1, Math.ceil((opening.auth.grant.expiresAt - c.services.clock.now()) / 1000));
    return json({ terminal: terminal.id, resumed: false } satisfies LinkOpened, { 'set-cookie': linkCookie(resume, maxAge) });
  }),
];

const json = (value: unknown, headers: Record<string, string> = {}): RawResponse => ({ status: 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(value), headers });
