// Single sign-on routes for the browser. GET /api/v1/sso (public): whether SSO is on, its label and
// whether passwords still sign in, for the sign-in page. GET /api/v1/sso/start?return_to=PATH: to
// the identity provider, with the flow sealed in a cookie. GET /api/v1/sso/callback: the provider's
// redirect back; signed in, the console session cookie is set as a password sign-in sets it and
// the browser goes to return_to. The last two are navigations, so their errors are a small page
// with the message and a way back (never a stack), not JSON.
import { PortcullisError } from '../../util/errors.js';
import { clearedFlowCookie, FLOW_COOKIE, flowCookie } from '../../identity/sso-flow.js';
import { type RawResponse, type Route, type RouteContext, route } from '../router.js';
import { sessionCookie } from '../web-auth.js';

const callbackUri = (c: RouteContext): string => `${c.services.addresses.url.replace(/\/$/, '')}/api/v1/sso/callback`;

export const ssoRoutes: Route[] = [
  route('GET', '/api/v1/sso', 'public', (c) => c.services.sso.info()),
  route('GET', '/api/v1/sso/start', 'public', async (c) => navigation(async () => {
    const s = await c.services.sso.start(c.query.get('return_to'), callbackUri(c));
    return { status: 303, contentType: 'text/plain; charset=utf-8', body: '', headers: { location: s.location, 'set-cookie': flowCookie(s.sealedFlow, s.maxAgeSeconds) } };
  })),
  route('GET', '/api/v1/sso/callback', 'public', async (c) => navigation(async () => {
    const here = new URL(callbackUri(c));
    here.search = c.query.toString();
    const done = await c.services.sso.finish(here, c.cookie(FLOW_COOKIE), callbackUri(c), c.addr);
    return {
      status: 303, contentType: 'text/plain; charset=utf-8', body: '',
      headers: { location: done.returnTo, 'set-cookie': [sessionCookie(done.token, Math.floor(done.ttlMs / 1000)), clearedFlowCookie()] },
    };
  }, true)),
];

async function navigation(run: () => Promise<RawResponse>, clearFlow = false): Promise<RawResponse> {
  try {
    return await run();
  } catch (err) {
    // Anything unexpected goes to the server's handler: logged, answered without its details.
    if (!(err instanceof PortcullisError)) throw err;
    return {
      status: err.status, contentType: 'text/html; charset=utf-8', body: errorPage(err.message),
      headers: { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'", 'x-content-type-options': 'nosniff', ...(clearFlow ? { 'set-cookie': clearedFlowCookie() } : {}) },
    };
  }
}

function errorPage(message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in failed · Portcullis</title>
<meta name="viewport" content="width=device-width"></head><body style="font-family:system-ui,sans-serif;max-width:40em;margin:3em auto">
<h1>Single sign-on did not work</h1><p role="alert" id="sso-error">${escapeHtml(message)}</p><p><a href="/">Back to the sign-in page</a></p></body></html>`;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
