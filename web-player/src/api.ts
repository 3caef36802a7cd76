// The page's only way to the gateway: same-origin fetch with the session cookie, and the CSRF token
// on every state change. Errors come back as the API's {error: {code, message}}. Pages call it
// through `apiFor(page)`, so leaving a page aborts its fetches and drops their late answers.
import type { ApiErrorBody, WebMe } from '../../gateway/api-types.js';
import type { PageLifecycle } from './lifecycle.js';

/** Who is signed in (GET /api/v1/web/me). */
export type Me = WebMe;

let csrf = '';

export class ApiError extends Error {
  constructor(readonly code: string, message: string, readonly status: number) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, {
    method, credentials: 'same-origin', ...(signal ? { signal } : {}),
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(method !== 'GET' ? { 'x-csrf-token': csrf } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) {
    let e: Partial<ApiErrorBody> = {};
    try { e = JSON.parse(text) as typeof e; } catch { /* not JSON */ }
    throw new ApiError(e.error?.code ?? 'internal', e.error?.message ?? `HTTP ${res.status}`, res.status);
  }
  return (res.headers.get('content-type')?.includes('json') && !res.headers.get('content-type')?.includes('ndjson') ? JSON.parse(text) : text) as T;
}

/** What a page may ask of the gateway: its calls end with the page (see PageLifecycle.guard). */
export interface PageApi {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  del<T>(path: string): Promise<T>;
}

export function apiFor(page: PageLifecycle): PageApi {
  return {
    get: <T>(path: string): Promise<T> => page.guard(call<T>('GET', path, undefined, page.signal)),
    post: <T>(path: string, body: unknown = {}): Promise<T> => page.guard(call<T>('POST', path, body, page.signal)),
    del: <T>(path: string): Promise<T> => page.guard(call<T>('DELETE', path, undefined, page.signal)),
  };
}

/** Sign-in state, shared by every page (not tied to one). */
export const api = {
  async login(user: string, password: string, totp?: string): Promise<Me> {
    const me = await call<Me>('POST', '/api/v1/web/login', { user, password, ...(totp ? { totp } : {}) });
    csrf = me.csrf;
    return me;
  },
  async me(): Promise<Me | null> {
    try {
      const me = await call<Me>('GET', '/api/v1/web/me');
      csrf = me.csrf;
      return me;
    } catch {
      return null;
    }
  },
  /** Own password: the answer sets a new session cookie; the page keeps only its CSRF token. */
  async changePassword(user: string, current: string, password: string, totp?: string): Promise<number> {
    const r = await call<Me & { tokens_revoked: number }>('POST', `/api/v1/users/${encodeURIComponent(user)}/password`,
      { current_password: current, password, ...(totp ? { totp } : {}) });
    csrf = r.csrf;
    return r.tokens_revoked;
  },
  async logout(): Promise<void> {
    await call('POST', '/api/v1/web/logout');
    csrf = '';
  },
};

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

export function fmtTime(s: number): string {
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}
