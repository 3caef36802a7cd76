// The OpenID Connect relying party, on openid-client 6: issuer discovery (lazy, cached, tried again
// after a failure), the authorization code flow with PKCE (S256), state and nonce, and the refresh
// grant. ID token checks (signature, issuer, audience, exp/iat, nonce) are the library's. It keeps
// no per-login state (the flow's secrets travel sealed in a cookie, sso-flow.ts) and decides nothing
// about users or roles (sso-users.ts). Library errors become one PortcullisError with a plain message.
import * as client from 'openid-client';
import { readFileSync } from 'node:fs';
import { PortcullisError } from '../util/errors.js';
import type { OidcConfig } from './oidc-config.js';
import { fetchWithCa } from './oidc-fetch.js';

/** What a login or a refresh proved about the user. */
export interface OidcIdentity {
  issuer: string;
  subject: string;
  /** preferred_username, else the email's local part; null when the provider gave neither. */
  username: string | null;
  /** The groups claim; null when the provider did not send it. */
  groups: string[] | null;
  /** Refresh token (secret); null when the provider issued none. */
  refreshToken: string | null;
}

/** The per-login secrets: made at start, checked at the callback. */
export interface FlowSecrets { state: string; nonce: string; verifier: string }

const TIMEOUT_S = 10;

export class OidcClient {
  private discovered: Promise<client.Configuration> | null = null;

  constructor(private readonly settings: OidcConfig, private readonly secret: string) {}

  get issuer(): string {
    return this.settings.issuer;
  }

  static newFlow(): FlowSecrets {
    return { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier() };
  }

  /** The provider's authorization URL for this login. */
  async authorizationUrl(flow: FlowSecrets, redirectUri: string): Promise<URL> {
    const cfg = await this.configuration();
    return client.buildAuthorizationUrl(cfg, {
      redirect_uri: redirectUri, scope: this.settings.scopes.join(' '), response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(flow.verifier), code_challenge_method: 'S256',
      state: flow.state, nonce: flow.nonce,
    });
  }

  /** The callback: code for tokens, the ID token checked, groups from it or from userinfo. */
  async exchange(callback: URL, flow: FlowSecrets, redirectUri: string): Promise<OidcIdentity> {
    const cfg = await this.configuration();
    const tokens = await refused(() => client.authorizationCodeGrant(cfg, callback, {
      pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true,
    }, { redirect_uri: redirectUri }));
    const claims = tokens.claims();
    if (!claims) throw new PortcullisError('invalid-credentials', 'the identity provider sent no ID token');
    checkIssuedAt(claims.iat);
    return this.identity(cfg, claims, tokens.access_token, tokens.refresh_token ?? null);
  }

  /** The refresh grant: the user's groups now, and the (possibly rotated) refresh token. */
  async refresh(refreshToken: string, subject: string): Promise<OidcIdentity> {
    const cfg = await this.configuration();
    const tokens = await refused(() => client.refreshTokenGrant(cfg, refreshToken));
    const claims = tokens.claims();
    if (claims) checkIssuedAt(claims.iat);
    if (claims && claims.sub !== subject) throw new PortcullisError('invalid-credentials', 'the identity provider refreshed a sign-in for another subject');
    const base = claims ?? { iss: this.settings.issuer, sub: subject };
    return this.identity(cfg, base, tokens.access_token, tokens.refresh_token ?? refreshToken);
  }

  private async identity(cfg: client.Configuration, claims: Record<string, unknown> & { iss: string; sub: string }, accessToken: string, refreshToken: string | null): Promise<OidcIdentity> {
    let all: Record<string, unknown> = claims;
    // Many providers put groups (and names) only in userinfo when an access token is issued.
    if (all[this.settings.groups_claim] === undefined && cfg.serverMetadata().userinfo_endpoint) {
      const info = await refused(() => client.fetchUserInfo(cfg, accessToken, claims.sub));
      all = { ...info, ...claims };
    }
    return {
      issuer: claims.iss, subject: claims.sub, username: usernameOf(all), groups: groupsOf(all[this.settings.groups_claim], this.settings.groups_claim),
      refreshToken,
    };
  }

  /** Discovery once; a failure is not cached, so the next sign-in tries again. */
  private configuration(): Promise<client.Configuration> {
    if (!this.discovered) {
      const pending = this.discover();
      this.discovered = pending;
      pending.catch(() => { if (this.discovered === pending) this.discovered = null; });
    }
    return this.discovered;
  }

  private async discover(): Promise<client.Configuration> {
    const ca = this.settings.ca_file === null ? null : readFileSync(this.settings.ca_file, 'utf8');
    try {
      const cfg = await client.discovery(new URL(this.settings.issuer), this.settings.client_id, undefined, client.ClientSecretBasic(this.secret), {
        timeout: TIMEOUT_S, ...(ca === null ? {} : { [client.customFetch]: fetchWithCa(ca) }),
      });
      cfg.timeout = TIMEOUT_S;
      // Check the ID token's signature against the provider's keys even though it came straight
      // from the token endpoint over TLS (the library would skip it there, as OIDC Core allows):
      // a mis-issued certificate or a compromised proxy must not be enough to sign anyone in.
      client.enableNonRepudiationChecks(cfg);
      if (ca !== null) cfg[client.customFetch] = fetchWithCa(ca);
      return cfg;
    } catch (err) {
      throw unreachable(this.settings.issuer, err);
    }
  }
}

export function unreachable(issuer: string, err: unknown): PortcullisError {
  const why = err instanceof Error ? ` (${oneLine(err.message)})` : '';
  return new PortcullisError('unavailable', `the identity provider at ${issuer} is unreachable${why}; local administrators can still sign in with their password`);
}

/** The library checks exp but not an iat in the future: a token "issued" later than now (beyond a minute of clock skew) is forged or from a broken clock. */
function checkIssuedAt(iat: number): void {
  if (iat > Date.now() / 1000 + 60) throw new PortcullisError('invalid-credentials', 'the identity provider\'s ID token is issued in the future (iat); check the clocks');
}

/** Runs a library call; its errors become `invalid-credentials` with the library's (secret-free) words. */
async function refused<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof PortcullisError) throw err;
    if (err instanceof client.AuthorizationResponseError || err instanceof client.ResponseBodyError) {
      const desc = err.error_description ? `: ${oneLine(err.error_description)}` : '';
      throw new PortcullisError('invalid-credentials', `the identity provider refused: ${oneLine(err.error)}${desc}`);
    }
    if (isNetworkError(err)) throw new PortcullisError('unavailable', 'the identity provider did not answer; try again');
    // "something went wrong" from the library: the cause says what (a network error, a bad answer).
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    const msg = err instanceof Error ? oneLine(err.message + cause) : 'unknown error';
    throw new PortcullisError('invalid-credentials', `the identity provider's answer was refused: ${msg}`);
  }
}

/**
 * The provider could not be reached or hung up: not its answer. A refresh that meets this keeps the
 * sign-in for the next round instead of ending it (a network blip must not sign everyone out).
 */
function isNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^(ECONN|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR|OAUTH_TIMEOUT|OAUTH_ABORT)/.test(code)) return true;
    if (/fetch failed|no answer from the identity provider|socket hang up/i.test(e.message)) return true;
  }
  return false;
}

function usernameOf(c: Record<string, unknown>): string | null {
  if (typeof c.preferred_username === 'string' && c.preferred_username !== '') return c.preferred_username;
  // Only a verified address names anyone: an unverified one is whatever the person typed.
  if (typeof c.email === 'string' && c.email.includes('@') && c.email_verified === true) return c.email.slice(0, c.email.indexOf('@'));
  return null;
}

function groupsOf(v: unknown, claim: string): string[] | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((g) => typeof g === 'string')) return v;
  throw new PortcullisError('invalid-credentials', `the identity provider's "${claim}" claim is not a list of group names`);
}

/** Provider text shown to people: one line, no control characters, bounded. */
export function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 300);
}
