// The Origin rule of the HTTPS listener, in one place for the API (server.ts) and the WebSocket
// upgrades (upgrade.ts):
//   - a WebSocket upgrade must come from one of the gateway's own origins, whatever authenticates
//     it (browsers send Origin on every WebSocket; a missing one is a non-browser client, which
//     can send the gateway's origin like any other header);
//   - a request that changes state with the session cookie must come from one of them too (on top
//     of the CSRF token: defence in depth that does not depend on the token staying secret);
//   - a request that changes state and names a foreign origin is refused whatever it carries
//     (a cross-site form posting to the public sign-in or link endpoints).
// A refusal is logged; when the request carried a valid session it is also audited, since that is
// someone else's page acting with a user's session — at most once a minute per user, so a hostile
// page looping in a victim's browser cannot flood the audit log (every refusal is still logged).
// Decides nothing about roles or routes.
import type { IncomingMessage } from 'node:http';
import type { ApiServices } from './api-services.js';
import { GatewayOrigins, isUnsafeMethod, type OriginVerdict } from './origins.js';
import { cookieToken } from './web-auth.js';

export const ORIGIN_REFUSED = 'http.origin_refused';
const AUDIT_EVERY_MS = 60_000;
const MAX_TRACKED_USERS = 10_000;

export interface OriginGuard {
  /** Upgrades: null when allowed, else the verdict to refuse with (already logged). */
  upgrade(req: IncomingMessage, path: string): OriginVerdict | null;
  /** API requests: null when allowed, else the verdict to refuse with (already logged). */
  request(req: IncomingMessage, path: string, viaCookie: boolean): OriginVerdict | null;
}

export function originGuard(app: Pick<ApiServices, 'config' | 'addresses' | 'log' | 'audit' | 'authn' | 'clock'>): OriginGuard {
  const origins = new GatewayOrigins(() => [app.addresses.url, app.config.publicUrl, ...app.config.http.origins]);
  const lastAudit = new Map<string, number>();
  const dueForAudit = (user: string): boolean => {
    const now = app.clock.now();
    const last = lastAudit.get(user);
    if (last !== undefined && now - last < AUDIT_EVERY_MS) return false;
    if (lastAudit.size >= MAX_TRACKED_USERS) lastAudit.clear();
    lastAudit.set(user, now);
    return true;
  };
  const refused = (req: IncomingMessage, path: string, v: OriginVerdict & { ok: false }, kind: 'upgrade' | 'request'): OriginVerdict => {
    const addr = req.socket.remoteAddress ?? 'unknown';
    app.log.info({ addr, port: req.socket.remotePort, method: req.method, path, origin: v.origin, reason: v.reason, kind }, ORIGIN_REFUSED);
    const h = req.headers.authorization;
    const token = h?.startsWith('Bearer ') ? h.slice(7).trim() : cookieToken(req);
    if (token) {
      // Only for a real session: an anonymous flood of foreign origins must not grow the audit log.
      void app.authn.byToken(token).then((user) => {
        if (user && dueForAudit(user.name)) app.audit.record('http.origin_refused', user.name, { user: user.name, path, origin: v.origin, reason: v.reason, addr, kind });
      }, () => undefined);
    }
    return v;
  };
  return {
    upgrade(req, path) {
      const v = origins.check(req.headers.origin, req.headers.host);
      return v.ok ? null : refused(req, path, v, 'upgrade');
    },
    request(req, path, viaCookie) {
      if (!isUnsafeMethod(req.method)) return null;
      const v = origins.check(req.headers.origin, req.headers.host);
      if (v.ok || (!viaCookie && v.reason === 'missing')) return null;
      return refused(req, path, v, 'request');
    },
  };
}
