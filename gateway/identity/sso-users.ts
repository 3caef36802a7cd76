// Who a single sign-on is: the provider's issuer#subject finds the user; a first sign-in creates
// one (source 'oidc', no password) named after preferred_username (else the email's local part).
// Roles come from the groups claim through `oidc.roles` on every sign-in and refresh, through
// UserService.setRoles so narrowed roles revoke grants as an admin's change does.
// An identity provider never takes over a name: a name already held (a local account, or another
// issuer#sub) is refused, not suffixed — people type their name into ssh and psql, and an admin
// who sees the refusal can rename one of the two; a silent "alice2" would be a surprise, and a
// suffix chosen by who signed in first would let an IdP user pick a look-alike of an admin.
import { checkName } from '../access/names.js';
import type { AccessContext } from '../access/context.js';
import type { UserService } from '../access/users.js';
import type { UserRecord } from '../store/records.js';
import { isPortcullisError, PortcullisError } from '../util/errors.js';
import { newId } from '../util/ids.js';
import type { OidcIdentity } from './oidc-client.js';
import { rolesFor, type OidcConfig } from './oidc-config.js';

/** A refusal with its stable audit reason. */
export class SsoRefusal extends PortcullisError {
  constructor(readonly reason: string, message: string, readonly user: string | null = null) {
    super(reason === 'disabled' ? 'user-disabled' : 'forbidden', message);
  }
}

export const SSO_ACTOR = 'sso';

export const externalIdOf = (id: Pick<OidcIdentity, 'issuer' | 'subject'>): string => `${id.issuer}#${id.subject}`;

/** The mapped roles of these groups, or a refusal naming the claim when the provider sent none. */
export function mappedRoles(groups: string[] | null, settings: OidcConfig): string[] {
  if (groups === null) {
    throw new SsoRefusal('missing-groups', `the identity provider sent no "${settings.groups_claim}" claim; ask its admin to release the groups claim to this client (oidc.groups_claim)`);
  }
  return rolesFor(groups, settings.roles);
}

/**
 * The user this identity signs in as, created or updated; throws SsoRefusal. Roles are replaced by
 * the mapping; a user in no mapped group loses every role and is refused.
 */
export async function signInUser(ctx: AccessContext, users: UserService, id: OidcIdentity, settings: OidcConfig): Promise<UserRecord> {
  const roles = mappedRoles(id.groups, settings);
  const externalId = externalIdOf(id);
  let user = await ctx.store.users.byExternalId(externalId);
  if (!user) {
    if (roles.length === 0) throw noGroup(null);
    user = await create(ctx, id, externalId, roles);
  }
  if (user.disabled) throw new SsoRefusal('disabled', `account ${user.name} is disabled; ask a Portcullis admin to enable it`, user.name);
  if (!sameRoles(user.roles, roles)) {
    await users.setRoles(SSO_ACTOR, user.name, roles);
    user = (await ctx.store.users.byId(user.id)) ?? user;
  }
  if (roles.length === 0) throw noGroup(user.name);
  return user;
}

function noGroup(name: string | null): SsoRefusal {
  return new SsoRefusal('no-mapped-group', 'you are in none of the identity provider groups that give Portcullis roles (oidc.roles); ask an admin', name);
}

async function create(ctx: AccessContext, id: OidcIdentity, externalId: string, roles: string[]): Promise<UserRecord> {
  if (id.username === null) throw new SsoRefusal('no-username', 'the identity provider sent neither preferred_username nor email: no user name to sign in as');
  const name = id.username;
  try {
    checkName('user', name);
  } catch (e) {
    throw new SsoRefusal('bad-name', `your identity provider user name cannot be a Portcullis user name: ${(e as Error).message}`);
  }
  const user: UserRecord = {
    id: newId('usr'), name, kind: 'human', roles, passwordHash: null, scramVerifier: null, nativeVerifier: null, mysqlNative: false,
    sshKeys: [], totpSealed: null, totpLastStep: 0, disabled: false, source: 'oidc', externalId, createdAt: ctx.clock.now(),
  };
  try {
    await ctx.store.transaction(async () => {
      if (await ctx.store.users.byName(name)) throw nameTaken(name);
      // "Admin" beside "admin" would read as the same person to an approver: refused like the same name.
      const lower = name.toLowerCase();
      const lookalike = (await ctx.store.users.list()).find((u) => u.name.toLowerCase() === lower);
      if (lookalike) throw nameTaken(lookalike.name);
      await ctx.store.users.insert(user);
      await ctx.audit.append('user.created', SSO_ACTOR, { user: name, roles, kind: 'human', source: 'oidc' });
    });
    return user;
  } catch (err) {
    if (err instanceof SsoRefusal) throw err;
    // Two first sign-ins of one person at once: the other one created the user.
    if (isPortcullisError(err) && err.code === 'conflict') {
      const raced = await ctx.store.users.byExternalId(externalId);
      if (raced) return raced;
      throw nameTaken(name);
    }
    throw err;
  }
}

function nameTaken(name: string): SsoRefusal {
  return new SsoRefusal('name-taken', `a Portcullis user named "${name}" already exists and is not yours (a local account or another sign-in); ask an admin to rename one of the two`);
}

const sameRoles = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().every((r, i) => r === [...b].sort()[i]);
