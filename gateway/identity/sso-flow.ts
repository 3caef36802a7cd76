// A single sign-on in progress, kept by the browser: state, nonce, PKCE verifier, where to go after
// and when it expires, sealed by the vault (AES-GCM under the master key, so every node opens it
// and nobody can forge or read it) in a cookie only the SSO routes receive. SameSite=Lax, not the
// console's Strict: the provider's redirect back is a cross-site navigation, and a Strict cookie
// would not come with it. The state inside is also matched against the callback's (the library),
// and each state is used once cluster-wide (sso-service.ts), so a replayed callback goes nowhere.
import { PortcullisError } from '../util/errors.js';
import type { Vault } from '../vault/vault.js';
import type { FlowSecrets } from './oidc-client.js';

export interface Flow extends FlowSecrets {
  /** Same-origin path to land on after the sign-in. */
  returnTo: string;
  expiresAt: number;
}

export const FLOW_COOKIE = 'pc_sso';
export const FLOW_TTL_MS = 10 * 60_000;
const AAD = 'sso-flow';
const MAX_RETURN_TO = 2048;

export function sealFlow(vault: Vault, flow: Flow): string {
  return vault.seal(JSON.stringify(flow), AAD, 'v2');
}

/** The flow in the cookie; null when absent, tampered with, sealed under another key, or expired. */
export function openFlow(vault: Vault, sealed: string | null, now: number): Flow | null {
  if (!sealed || sealed.length > 8192) return null;
  try {
    const f = JSON.parse(vault.open(sealed, AAD, 'v2').toString('utf8')) as Partial<Flow>;
    if (typeof f.state !== 'string' || typeof f.nonce !== 'string' || typeof f.verifier !== 'string' || typeof f.returnTo !== 'string' || typeof f.expiresAt !== 'number') return null;
    if (f.expiresAt <= now) return null;
    return { state: f.state, nonce: f.nonce, verifier: f.verifier, returnTo: safeReturnTo(f.returnTo), expiresAt: f.expiresAt };
  } catch {
    return null;
  }
}

export function flowCookie(value: string, maxAgeSeconds: number): string {
  return `${FLOW_COOKIE}=${value}; HttpOnly; Secure; SameSite=Lax; Path=/api/v1/sso; Max-Age=${maxAgeSeconds}`;
}

export const clearedFlowCookie = (): string => flowCookie('', 0);

/**
 * A return_to the gateway may redirect to: a path on its own origin ("/", "/#/requests",
 * "/approve/abc?x=1"). Anything that could leave the origin — "//evil", "/\evil", "https://…",
 * "javascript:", control characters — is refused, so the sign-in is no open redirect.
 */
export function safeReturnTo(raw: string | null | undefined): string {
  if (raw === null || raw === undefined || raw === '') return '/';
  const bad = (): never => { throw new PortcullisError('bad-request', 'return_to must be a path on this gateway, like /#/requests'); };
  // eslint-disable-next-line no-control-regex
  if (raw.length > MAX_RETURN_TO || !raw.startsWith('/') || raw.startsWith('//') || raw.includes('\\') || /[\u0000-\u001f\u007f\s]/.test(raw)) return bad();
  const base = 'https://gateway.invalid';
  const u = new URL(raw, base);
  if (u.origin !== base) return bad();
  // Checked again after the URL parser normalised dot segments: "/.//evil", "/a/..//evil" and
  // "/%2e//evil" all come out as "//evil", which a browser follows to another host.
  const out = u.pathname + u.search + u.hash;
  if (!out.startsWith('/') || out.startsWith('//') || out.includes('\\')) return bad();
  return out;
}
