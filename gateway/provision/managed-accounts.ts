// Which privileged accounts on a target Portcullis manages, and why: the vaulted account (the one
// sessions log in as on static targets, the provisioner on ephemeral ones) and the ephemeral account
// of a grant that is live now. Everything else privileged is a standing account to remove, and so is
// an ephemeral account whose grant is over but that is not dropped yet (the reconciler's backlog:
// it still logs in). Pure: the caller reads the store and hands the rows over.
import type { EphemeralAccountRecord, GrantRecord, TargetKind, TargetRecord } from '../store/records.js';

export interface Managed {
  managed: boolean;
  /** Why it is managed; for an ephemeral account awaiting its drop, why it no longer is. Null otherwise. */
  managedAs: string | null;
}

/** A live ephemeral row of the target with its grant (undefined when the grant is gone) and the grant's user name. */
export interface EphemeralOwner {
  row: EphemeralAccountRecord;
  grant: GrantRecord | undefined;
  user: string;
}

export const isGrantLive = (g: GrantRecord | undefined, now: number): boolean =>
  g !== undefined && g.revokedAt === null && g.startsAt <= now && now < g.expiresAt;

/**
 * The account's user name for matching: MySQL accounts are a user and a host ('app'@'%'); a
 * discovery may report either form, and the vaulted account and ephemeral rows hold the user alone.
 */
export function accountUser(kind: TargetKind, account: string): string {
  if (kind !== 'mysql') return account;
  const m = /^'?([^'@]*)'?@/.exec(account) ?? /^`([^`]*)`@/.exec(account);
  return m ? m[1]! : account;
}

/** The host part of a MySQL account name ('user'@'host'), or null when the name has none. */
function accountHost(account: string): string | null {
  const m = /@'([^']*)'$/.exec(account) ?? /@`([^`]*)`$/.exec(account);
  return m ? m[1]! : null;
}

/**
 * `self`: the provisioner said this is the account it logged in as. For MySQL a user name is several
 * accounts, one per host: only the login's own row is the vaulted account, and only the '%' row of
 * an ephemeral user is the one Portcullis created; a twin at another host is a standing account.
 */
export function markAccount(target: TargetRecord, account: string, owners: readonly EphemeralOwner[], now: number, self?: boolean): Managed {
  const user = accountUser(target.kind, account);
  const host = target.kind === 'mysql' ? accountHost(account) : null;
  if (target.kind === 'mysql' && host !== null) {
    if (user === target.account) {
      return self === true ? { managed: true, managedAs: target.credentialMode === 'ephemeral' ? 'provisioner' : 'vaulted account' } : { managed: false, managedAs: null };
    }
    if (host !== '%') return { managed: false, managedAs: null };
  }
  if (user === target.account) {
    return { managed: true, managedAs: target.credentialMode === 'ephemeral' ? 'provisioner' : 'vaulted account' };
  }
  const owner = owners.find((o) => o.row.account === user);
  if (!owner) return { managed: false, managedAs: null };
  if (owner.row.state !== 'dropping' && isGrantLive(owner.grant, now)) {
    return { managed: true, managedAs: `ephemeral account of grant ${owner.row.grantId} (user ${owner.user}, level ${owner.row.level})` };
  }
  // Still on the target and still able to log in: not managed until the reconciler drops it.
  return { managed: false, managedAs: `ephemeral account awaiting drop (grant ${owner.row.grantId} is over)` };
}
