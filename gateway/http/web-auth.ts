// Browser sign-in: the session token travels in a cookie (HttpOnly, Secure, SameSite=Strict) and
// every state change must also carry the CSRF token, which is derived from the session token and
// handed to the page at sign-in (a forged cross-site request has the cookie but not the token).
// API clients with a Bearer token are not subject to CSRF: nothing ambient carries their token.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { constantTimeEqual } from '../util/ids.js';

export const COOKIE = 'pc_session';

export function csrfFor(sessionToken: string): string {
  return createHash('sha256').update('portcullis-csrf\0' + sessionToken).digest('base64url');
}

export function sessionCookie(token: string, maxAgeSeconds: number): string {
  return `${COOKIE}=${token}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}`;
}

export function clearedCookie(): string {
  return `${COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0`;
}

export function cookieToken(req: IncomingMessage): string | null {
  return cookieValue(req, COOKIE);
}

export function cookieValue(req: IncomingMessage, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=') || null;
  }
  return null;
}

/** The resume cookie of a vendor's browser terminal: only sent to the link endpoints. */
export const LINK_COOKIE = 'pc_link';
export function linkCookie(value: string, maxAgeSeconds: number): string {
  return `${LINK_COOKIE}=${value}; HttpOnly; Secure; SameSite=Strict; Path=/api/v1/l; Max-Age=${maxAgeSeconds}`;
}

export function csrfOk(req: IncomingMessage, sessionToken: string): boolean {
  const sent = req.headers['x-csrf-token'];
  return typeof sent === 'string' && constantTimeEqual(sent, csrfFor(sessionToken));
}
