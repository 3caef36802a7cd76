// The HTTPS API server: TLS from the gateway CA, bearer-token auth, the role check of each route,
// bounded JSON bodies, and errors as {error: {code, message}} with the code's HTTP status.
// Handlers return plain values; this file alone turns them into HTTP.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { ApiServices } from './api-services.js';
import { LOG } from '../log/logger.js';
import type { UserRecord } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';
import { logConnectionsWithoutRequest } from './connection-log.js';
import { Input } from './input.js';
import { type OriginGuard, originGuard } from './origin-guard.js';
import { requestUrl } from './request-url.js';
import { type Composed, type Route, allowed, isRaw, match } from './router.js';
import { catalogRoutes } from './routes/catalog.js';
import { discoveryRoutes } from './routes/discovery.js';
import { identityRoutes } from './routes/identity.js';
import { oversightRoutes } from './routes/oversight.js';
import { clusterRoutes } from './routes/cluster.js';
import { workflowRoutes } from './routes/workflow.js';
import { linkRoutes } from './routes/links.js';
import { loginRoutes } from './routes/logins.js';
import { passwordRoutes } from './routes/password.js';
import { ruleRoutes } from './routes/rules.js';
import { selfServiceRoutes } from './routes/self-service.js';
import { webRoutes } from './routes/web.js';
import { ssoRoutes } from './routes/sso.js';
import { sshCertRoutes } from './routes/ssh-certs.js';
import { setupRoutes } from './routes/setup.js';
import { serveAsset } from './static-assets.js';
import { cookieToken, cookieValue, csrfOk } from './web-auth.js';

const MAX_BODY = 256 * 1024;
export const API_ROUTES: Route[] = [...identityRoutes, ...passwordRoutes, ...catalogRoutes, ...workflowRoutes, ...oversightRoutes, ...webRoutes, ...ssoRoutes, ...linkRoutes, ...loginRoutes, ...discoveryRoutes, ...clusterRoutes, ...ruleRoutes, ...selfServiceRoutes, ...sshCertRoutes, ...setupRoutes];

/** `origins`: the guard the upgrade handler shares (one per listener, so its audit rate limit is one). */
export function createApiServer(app: ApiServices, composed: Composed, tls: { cert: string; key: string }, origins: OriginGuard = originGuard(app)): Server {
  // A client that connects and never finishes its TLS handshake holds a socket: 10 s, not Node's 120 s.
  const server = createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', handshakeTimeout: 10_000 }, (req, res) => {
    // Never rejects into the event loop: an unhandled rejection would stop every session.
    handle(app, composed, origins, req, res).catch((err: unknown) => {
      app.log.error({ err }, LOG.httpError);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  // Longer than common clients' idle timeout (Node's agent: 5 s), so a client never reuses a
  // socket the server is closing at that same moment.
  server.keepAliveTimeout = 65_000;
  logConnectionsWithoutRequest(server, app.log);
  return server;
}

async function handle(app: ApiServices, composed: Composed, origins: OriginGuard, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = app.clock.now();
  const addr = req.socket.remoteAddress ?? 'unknown';
  const url = requestUrl(req.url);
  if (!url) {
    app.log.info({ addr, port: req.socket.remotePort, reason: 'request target is not a URL' }, LOG.httpBadRequest);
    app.counters.http({ group: 'unmatched', status: '400' });
    sendJson(res, 400, { error: { code: 'bad-request', message: 'the request target is not a valid URL path' } });
    return;
  }
  let group = 'unmatched';
  let status = 500;
  try {
    const m = match(API_ROUTES, req.method ?? 'GET', url.pathname);
    if (m === undefined && req.method === 'GET' && !url.pathname.startsWith('/api/') && serveAsset(url.pathname, res)) {
      status = 200;
      group = 'assets';
      return;
    }
    if (m === undefined) throw new PortcullisError('not-found', `no API route ${url.pathname}`);
    if (m === 'method') throw new PortcullisError('bad-request', `${req.method} is not allowed on ${url.pathname}`);
    group = m.route.group;
    const auth = await authenticate(app, req);
    const user = auth?.user ?? null;
    // Another origin's page may not change anything with a user's cookie, nor post from its own
    // origin at all (origin-guard.ts); checked before the CSRF token so the refusal says why.
    if (origins.request(req, safePath(url.pathname), auth?.viaCookie === true)) {
      throw new PortcullisError('forbidden', 'this request came from a page on another origin; open the console at the gateway\'s own address');
    }
    // A browser session (cookie) must prove each state change with its CSRF token.
    if (auth?.viaCookie && req.method !== 'GET' && !csrfOk(req, auth.token)) {
      throw new PortcullisError('forbidden', 'missing or wrong CSRF token; reload the page');
    }
    if (!allowed(m.route.access, user)) {
      if (!user) throw new PortcullisError('unauthenticated', 'missing or invalid API token; run "portcullis login" or set PORTCULLIS_TOKEN');
      await app.audit.append('api.denied', user.name, { user: user.name, route: `${m.route.method} ${m.route.path}`, code: 'forbidden' });
      const roles = m.route.access === 'any' || m.route.access === 'public' ? [] : m.route.access;
      throw new PortcullisError('forbidden', `${user.name} may not do this (needs role: ${[...new Set(['admin', ...roles])].join(' or ')})`);
    }
    const body = req.method === 'POST' ? Input.from(await readJson(req)) : Input.from(undefined);
    const result = await m.route.handler({
      services: app, composed, user, params: m.params, query: url.searchParams, body, addr, token: auth?.token ?? '', cookie: (name) => cookieValue(req, name),
    });
    if (isRaw(result)) {
      status = result.status;
      res.writeHead(status, { 'content-type': result.contentType, 'cache-control': 'no-store', ...result.headers });
      res.end(result.body);
    } else {
      status = 200;
      sendJson(res, status, result);
    }
  } catch (err) {
    const e = err instanceof PortcullisError ? err : null;
    status = e?.status ?? 500;
    if (!e) app.log.error({ err, path: safePath(url.pathname) }, LOG.httpError);
    sendJson(res, status, { error: { code: e?.code ?? 'internal', message: e?.message ?? 'internal error; see the gateway log' } });
  } finally {
    app.counters.http({ group, status: String(status) });
    const path = safePath(url.pathname);
    app.log.debug({ method: req.method, path, status, ms: app.clock.now() - started, addr }, LOG.httpRequest);
  }
}

async function authenticate(app: ApiServices, req: IncomingMessage): Promise<{ user: UserRecord; token: string; viaCookie: boolean } | null> {
  const h = req.headers.authorization;
  if (h?.startsWith('Bearer ')) {
    const token = h.slice(7).trim();
    const user = await app.authn.byToken(token);
    return user ? { user, token, viaCookie: false } : null;
  }
  const token = cookieToken(req);
  const user = token ? await app.authn.byToken(token) : undefined;
  return user && token ? { user, token, viaCookie: true } : null;
}

/** A link's path is its secret: never log it (vendor links, and first-run setup links and their API). */
const safePath = (path: string): string => (path.startsWith('/l/') ? '/l/…' : path.startsWith('/setup/') ? '/setup/…' : path.startsWith('/api/v1/setup/') ? '/api/v1/setup/…' : path);

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new PortcullisError('payload-too-large', `request body over ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size === 0) return resolve(undefined);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new PortcullisError('bad-request', 'request body is not valid JSON'));
      }
    });
    // A client that goes away mid-body is not an internal error.
    req.on('error', () => reject(new PortcullisError('bad-request', 'the client closed the connection before its request body was complete')));
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(body);
}
