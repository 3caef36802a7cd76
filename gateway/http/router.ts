// Route table for the API. Each route names who may call it: 'public', 'any' signed-in identity, or
// a list of roles (admin always passes). The check runs before the handler, for every route.
import type { ApiServices } from './api-services.js';
import type { CertificateInfo } from '../net/upstream-tls.js';
import type { TargetKind, TargetRecord, UserRecord } from '../store/records.js';
import type { CheckResult } from '../targets/target-check.js';
import type { VendorTerminals } from '../web-terminal/vendor-terminals.js';
import type { Input } from './input.js';

export type Access = 'public' | 'any' | string[];

/**
 * What the composition root builds beside the services root and hands to the API: the vendor
 * browser terminals (a front end) and `target test` through the protocol registry's probes.
 */
export interface Composed {
  vendorTerminals: VendorTerminals;
  checkTarget(target: TargetRecord): Promise<CheckResult>;
  /** The certificate a database server presents after its protocol's TLS upgrade (nothing else sent). */
  fetchCertificate(kind: TargetKind, host: string, port: number, caPem: string | null): Promise<CertificateInfo>;
}

export interface RouteContext {
  /** The services a route may use (never the store). */
  services: ApiServices;
  /** Front ends the composition root built beside the services (vendor terminals, target test). */
  composed: Composed;
  user: UserRecord | null;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Input;
  addr: string;
  /** The credential the request came with (Bearer or cookie), for sign-out and CSRF. */
  token: string;
  /** A cookie of the request, by name (null when absent). */
  cookie(name: string): string | null;
}

export interface RawResponse {
  status: number;
  contentType: string;
  body: string;
  /** A list sends the header once per value (several Set-Cookie). */
  headers?: Record<string, string | string[]>;
}

export type Handler = (c: RouteContext) => unknown;

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  access: Access;
  group: string;
  handler: Handler;
  pattern: RegExp;
  keys: string[];
}

export function route(method: Route['method'], path: string, access: Access, handler: Handler): Route {
  const keys: string[] = [];
  const pattern = new RegExp('^' + path.replace(/:([a-z]+)/g, (_m, k: string) => { keys.push(k); return '([^/]+)'; }) + '$');
  const group = path.split('/').slice(0, 4).join('/');
  return { method, path, access, group, handler, pattern, keys };
}

export function match(routes: Route[], method: string, path: string): { route: Route; params: Record<string, string> } | 'method' | undefined {
  let pathMatched = false;
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (r.method !== method) continue;
    const params: Record<string, string> = {};
    r.keys.forEach((k, i) => { params[k] = decodeURIComponent(m[i + 1]!); });
    return { route: r, params };
  }
  return pathMatched ? 'method' : undefined;
}

export function allowed(access: Access, user: UserRecord | null): boolean {
  if (access === 'public') return true;
  if (!user) return false;
  if (access === 'any') return true;
  return user.roles.includes('admin') || access.some((r) => user.roles.includes(r));
}

export function isRaw(v: unknown): v is RawResponse {
  return typeof v === 'object' && v !== null && 'contentType' in v && 'status' in v && 'body' in v;
}
