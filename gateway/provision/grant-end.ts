// Whether an ephemeral account's grant is over, and why: the one rule the reconciler applies to
// every live row. Over: the grant is gone, revoked or expired, or its user was removed or
// disabled (a link's grant has no user: the link's revocation revokes the grant). A target that no
// longer exists is reported too: its account cannot be dropped any more, only abandoned.
import type { EphemeralAccountRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

export type GrantEnd = 'grant-gone' | 'grant-revoked' | 'grant-expired' | 'user-removed' | 'user-disabled' | 'target-removed';

export interface AccountStanding {
  /** Why the account must go, or null while its grant holds. */
  end: GrantEnd | null;
  /** When the grant ends as it stands now (extensions and shortenings included). */
  endsAt: number;
}

export async function accountStanding(store: Store, row: EphemeralAccountRecord, now: number): Promise<AccountStanding> {
  const grant = await store.grants.byId(row.grantId);
  // A grant of another target or level is not this account's (the store was edited): as good as gone.
  if (!grant || grant.targetId !== row.targetId || grant.level !== row.level) return { end: 'grant-gone', endsAt: row.expiresAt };
  const endsAt = grant.expiresAt;
  if (!(await store.targets.byId(row.targetId))) return { end: 'target-removed', endsAt };
  // The user before the grant: a grant revoked because its user was disabled says user-disabled.
  if (grant.source !== 'link') {
    const user = await store.users.byId(grant.userId);
    if (!user) return { end: 'user-removed', endsAt };
    if (user.disabled) return { end: 'user-disabled', endsAt };
  }
  if (grant.revokedAt !== null) return { end: 'grant-revoked', endsAt };
  if (now >= grant.expiresAt) return { end: 'grant-expired', endsAt };
  return { end: null, endsAt };
}
