// Which web origins may drive the gateway from a browser: the gateway's own. A browser attaches the
// session cookie to any request to the gateway's host, whatever page made it, and cookies do not
// tell ports apart (SameSite=Strict still sends them from https://127.0.0.1:9999 or a sibling
// subdomain of the same site). The Origin header is what the browser says about the page, and a
// page cannot forge it. This file only answers "is this Origin ours"; upgrade.ts and server.ts
// decide what to refuse. It says nothing about non-browser clients, which can send any Origin.
//
// Ours are: the public URL (config `publicUrl`, or the listener's URL once serve has bound its
// port), the extra origins in `http.origins` (a reverse proxy's name, say), and the listener's own
// origin as the browser reached it (https:// + the Host header: a page the gateway served under
// that name is same-origin with it; browsers never let a page set Host).

export type OriginVerdict =
  | { ok: true; origin: string }
  | { ok: false; reason: 'missing' | 'malformed' | 'foreign'; origin: string | null };

/** Longest Origin worth looking at (and logging): a real one is a scheme, a host and a port. */
const MAX_ORIGIN = 512;
const HOST_HEADER = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * An Origin header as browsers send it ("https://host[:port]", default port left out) → itself,
 * lower-cased; null for anything else ("null", a path, user info, another scheme, a list).
 */
export function normalizeOrigin(text: string): string | null {
  if (text.length > MAX_ORIGIN) return null;
  const origin = originOf(text);
  return origin !== null && origin === text.toLowerCase() ? origin : null;
}

/** The origin of a URL ("https://gw.example:8443/console" → "https://gw.example:8443"), http(s) only. */
export function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.origin : null;
  } catch {
    return null;
  }
}

export class GatewayOrigins {
  /**
   * `fixed` is read per request: serve learns the listener's bound port after the API exists.
   * Each entry is a URL or an origin; anything that is not an http(s) origin is ignored here
   * (config validation refuses it before serve starts).
   */
  constructor(private readonly fixed: () => ReadonlyArray<string | null>) {}

  /** The origins this gateway answers as, besides the Host-derived one. */
  list(): string[] {
    const out = new Set<string>();
    for (const f of this.fixed()) {
      const o = f ? originOf(f) : null;
      if (o) out.add(o);
    }
    return [...out];
  }

  /** Checks an Origin header against ours; `host` is the request's Host header. */
  check(origin: string | string[] | undefined, host: string | undefined): OriginVerdict {
    if (origin === undefined || origin === '') return { ok: false, reason: 'missing', origin: null };
    if (Array.isArray(origin)) return { ok: false, reason: 'malformed', origin: origin.join(',').slice(0, MAX_ORIGIN) };
    const norm = normalizeOrigin(origin);
    if (!norm) return { ok: false, reason: 'malformed', origin: origin.slice(0, MAX_ORIGIN) };
    if (this.list().includes(norm)) return { ok: true, origin: norm };
    if (host !== undefined && HOST_HEADER.test(host) && normalizeOrigin(`https://${host}`) === norm) return { ok: true, origin: norm };
    return { ok: false, reason: 'foreign', origin: norm };
  }
}

/** The methods that change state; everything else must not (the API keeps that rule). */
export function isUnsafeMethod(method: string | undefined): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}
