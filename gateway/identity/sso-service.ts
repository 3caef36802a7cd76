// Single sign-on for the console, end to end: start (sealed flow cookie, the provider's URL),
// callback (one use of the state cluster-wide, code exchange, the user, a console session token and
// its sso_sessions row with the sealed refresh token) and the periodic refresh that keeps roles in
// step with the provider's groups and ends sign-ins the provider no longer vouches for. Every
// refusal is audited (sso.refused) and reaches the person as one plain sentence.
import type { AccessContext } from '../access/context.js';
import type { Authenticator } from '../access/authn.js';
import type { UserService } from '../access/users.js';
import type { Logger } from '../log/logger.js';
import type { SsoSessionRecord, UserRecord } from '../store/records.js';
import type { DeadlineScheduler } from '../util/deadline-scheduler.js';
import { parseDuration } from '../util/duration.js';
import { isPortcullisError, PortcullisError } from '../util/errors.js';
import { sha256Hex } from '../util/ids.js';
import type { Vault } from '../vault/vault.js';
import { OidcClient, type OidcIdentity } from './oidc-client.js';
import type { OidcConfig } from './oidc-config.js';
import { type Flow, FLOW_TTL_MS, openFlow, safeReturnTo, sealFlow } from './sso-flow.js';
import { mappedRoles, SSO_ACTOR, signInUser, SsoRefusal } from './sso-users.js';

export interface SsoInfo { enabled: boolean; label: string | null; local_passwords: boolean }

export interface SsoDeps {
  ctx: AccessContext;
  users: UserService;
  authn: Authenticator;
  vault: Vault;
  log: Logger;
  scheduler: DeadlineScheduler;
  /** True for exactly one node per key (store.claims through the cluster). */
  claim(key: string): Promise<boolean>;
  /** How long a console session lasts (api.tokenTtl). */
  tokenTtlMs: number;
}

const MSG = { refreshFailed: 'sso.refresh_failed', providerUnreachable: 'sso.provider_unreachable', refreshEnded: 'sso.sign_in_ended' };
const TIMER_KEY = 'sso:refresh';
const BATCH = 200;

export const refreshAad = (tokenId: string): string => `sso-refresh:${tokenId}`;

export class SsoService {
  private readonly oidc: OidcClient | null;
  private readonly everyMs: number;

  constructor(private readonly settings: OidcConfig | null, secret: string | null, private readonly d: SsoDeps) {
    this.oidc = settings && secret !== null ? new OidcClient(settings, secret) : null;
    this.everyMs = settings ? parseDuration(settings.refresh_every) : 0;
  }

  info(): SsoInfo {
    return { enabled: this.oidc !== null, label: this.settings?.label ?? null, local_passwords: this.settings?.local_passwords ?? true };
  }

  /** A new sign-in: the sealed flow (for the cookie) and where to send the browser. */
  async start(returnTo: string | null, redirectUri: string): Promise<{ location: string; sealedFlow: string; maxAgeSeconds: number }> {
    const oidc = this.client();
    const flow: Flow = { ...OidcClient.newFlow(), returnTo: safeReturnTo(returnTo), expiresAt: this.d.ctx.clock.now() + FLOW_TTL_MS };
    const url = await oidc.authorizationUrl(flow, redirectUri);
    return { location: url.href, sealedFlow: sealFlow(this.d.vault, flow), maxAgeSeconds: FLOW_TTL_MS / 1000 };
  }

  /** The provider's redirect back: a console session token for the user, and where to land. */
  async finish(callback: URL, sealedFlow: string | null, redirectUri: string, addr: string): Promise<{ token: string; ttlMs: number; user: UserRecord; returnTo: string }> {
    const oidc = this.client();
    let id: OidcIdentity | null = null;
    try {
      const flow = openFlow(this.d.vault, sealedFlow, this.d.ctx.clock.now());
      if (!flow) throw new SsoRefusal('flow-missing', 'this sign-in expired or was started in another browser; start it again from the sign-in page');
      // The provider's own error (error=access_denied...) is the library's to read; a state that is
      // not this browser's flow is refused before any exchange, and each state is spent once.
      const state = callback.searchParams.get('state');
      if (!callback.searchParams.has('error') && state !== flow.state) throw new SsoRefusal('state-mismatch', 'this sign-in answer does not belong to the sign-in this browser started; start again');
      if (!(await this.d.claim(`sso-state:${sha256Hex(flow.state)}`))) throw new SsoRefusal('state-reused', 'this sign-in answer was already used; start again from the sign-in page');
      id = await oidc.exchange(callback, flow, redirectUri);
      const user = await signInUser(this.d.ctx, this.d.users, id, this.settings!);
      const { token, expiresAt } = await this.d.authn.issueToken(user.name, user, 'sso', this.d.tokenTtlMs);
      const rec = await this.d.ctx.store.tokens.byHash(sha256Hex(token));
      if (!rec) throw new PortcullisError('internal', 'the session token just issued is gone');
      const now = this.d.ctx.clock.now();
      await this.d.ctx.store.ssoSessions.insert({
        tokenId: rec.id, userId: user.id, issuer: id.issuer, subject: id.subject,
        refreshSealed: id.refreshToken === null ? null : this.d.vault.seal(id.refreshToken, refreshAad(rec.id), 'v2'),
        groups: id.groups ?? [], refreshedAt: now, expiresAt: expiresAt ?? now + this.d.tokenTtlMs,
      });
      await this.d.ctx.audit.append('sso.signed_in', user.name, { user: user.name, issuer: id.issuer, subject: id.subject, roles: user.roles, addr });
      return { token, ttlMs: this.d.tokenTtlMs, user, returnTo: flow.returnTo };
    } catch (err) {
      await this.refused(err, id, addr);
      throw err;
    }
  }

  startRefresh(): void {
    if (!this.oidc) return;
    this.arm();
  }

  stop(): void {
    this.d.scheduler.delete(TIMER_KEY);
  }

  /** One refresh pass over the sign-ins due (the timer's work; tests call it). */
  async refreshDue(): Promise<number> {
    if (!this.oidc) return 0;
    const now = this.d.ctx.clock.now();
    await this.d.ctx.store.ssoSessions.removeExpired(now);
    let done = 0;
    for (const s of await this.d.ctx.store.ssoSessions.due(now - this.everyMs, now, BATCH)) {
      // One node per sign-in and refresh round: a refresh token used twice may end the whole grant at the provider.
      if (!(await this.d.claim(`sso-refresh:${s.tokenId}:${s.refreshedAt}`))) continue;
      try {
        await this.refreshOne(s);
        done++;
      } catch (err) {
        this.d.log.warn({ err: isPortcullisError(err) ? err.message : String(err), tokenId: s.tokenId }, MSG.refreshFailed);
      }
    }
    return done;
  }

  private async refreshOne(s: SsoSessionRecord): Promise<void> {
    const store = this.d.ctx.store;
    const now = this.d.ctx.clock.now();
    if (!(await store.tokens.byId(s.tokenId))) {
      await store.ssoSessions.remove(s.tokenId);
      return;
    }
    if (s.refreshSealed === null) {
      // No refresh token (the provider gave none; ask for offline_access): groups are read again at the next sign-in.
      await store.ssoSessions.update({ ...s, refreshedAt: now });
      return;
    }
    let id: OidcIdentity;
    let roles: string[];
    try {
      id = await this.oidc!.refresh(this.d.vault.open(s.refreshSealed, refreshAad(s.tokenId), 'v2').toString('utf8'), s.subject);
      roles = mappedRoles(id.groups, this.settings!);
    } catch (err) {
      if (isPortcullisError(err) && err.code === 'unavailable') {
        // The provider is down: sign-ins are kept until it answers (or their token expires); tried again next round.
        this.d.log.warn({ issuer: s.issuer, err: err.message }, MSG.providerUnreachable);
        return;
      }
      return this.end(s, [], err instanceof Error ? err.message : 'refresh refused');
    }
    const user = await store.users.byId(s.userId);
    if (!user) return this.end(s, null, 'user removed');
    if (!sameRoles(user.roles, roles)) await this.d.users.setRoles(SSO_ACTOR, user.name, roles);
    if (roles.length === 0) return this.end(s, null, 'in no mapped group any more');
    if (user.disabled) return this.end(s, null, 'account disabled');
    await store.ssoSessions.update({
      ...s, groups: id.groups ?? [], refreshedAt: now,
      refreshSealed: id.refreshToken === null ? null : this.d.vault.seal(id.refreshToken, refreshAad(s.tokenId), 'v2'),
    });
  }

  /**
   * The provider no longer vouches for this sign-in: its token is revoked, and with `roles` the
   * user's roles are set (narrowing ends grants and the live sessions under them, as an admin's
   * role change does).
   */
  private async end(s: SsoSessionRecord, roles: string[] | null, why: string): Promise<void> {
    const store = this.d.ctx.store;
    await store.tokens.removeById(s.tokenId);
    await store.ssoSessions.remove(s.tokenId);
    const user = await store.users.byId(s.userId);
    // Every token of a single sign-on user stands on the provider's word (CLI logins approved in
    // the browser, and the SSH certificates made from them): none outlives its refusal.
    if (user?.source === 'oidc') await store.tokens.removeForUser(user.id);
    if (user && roles !== null && !sameRoles(user.roles, roles)) await this.d.users.setRoles(SSO_ACTOR, user.name, roles);
    await this.d.ctx.audit.append('sso.refused', user?.name ?? SSO_ACTOR, {
      user: user?.name ?? null, issuer: s.issuer, subject: s.subject, reason: 'refresh-refused', detail: why.slice(0, 300), addr: '',
    });
    this.d.log.info({ user: user?.name, issuer: s.issuer }, MSG.refreshEnded);
  }

  private arm(): void {
    const tick = Math.max(500, Math.min(this.everyMs / 2, 30_000));
    this.d.scheduler.set(TIMER_KEY, this.d.ctx.clock.now() + tick, async () => {
      try {
        await this.refreshDue();
      } catch (err) {
        this.d.log.warn({ err: err instanceof Error ? err.message : String(err) }, MSG.refreshFailed);
      } finally {
        this.arm();
      }
    });
  }

  private client(): OidcClient {
    if (!this.oidc) throw new PortcullisError('not-found', 'single sign-on is not configured on this gateway (oidc: in the config)');
    return this.oidc;
  }

  private async refused(err: unknown, id: OidcIdentity | null, addr: string): Promise<void> {
    const reason = err instanceof SsoRefusal ? err.reason : isPortcullisError(err) && err.code === 'unavailable' ? 'provider-unreachable' : 'provider-refused';
    const detail = err instanceof Error ? err.message.slice(0, 300) : 'refused';
    const user = err instanceof SsoRefusal ? err.user : null;
    await this.d.ctx.audit.append('sso.refused', user ?? SSO_ACTOR, { user, issuer: this.settings?.issuer ?? '', subject: id?.subject ?? null, reason, detail, addr });
  }
}

const sameRoles = (a: readonly string[], b: readonly string[]): boolean => {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((r, i) => r === y[i]);
};
