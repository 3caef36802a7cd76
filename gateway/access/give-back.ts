// Giving a grant back: its own user ends it before its time ("I am done"). It is a revoke in every
// way that matters — the grant ends now, its sessions are cut (grant-revoked), every node hears of
// it, it is audited (grant.revoked, by the user, reason "given back") — that only the grantee may
// do. Anyone else's grant is answered as not found, so grant ids of others cannot be probed.
import type { GrantRecord, UserRecord } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';
import type { GrantService } from './grants.js';

export const GIVEN_BACK = 'given back';

export async function giveBack(grants: Pick<GrantService, 'get' | 'revoke'>, user: UserRecord, id: string, now: number): Promise<GrantRecord> {
  // Only "no such grant" becomes the answer below; a store that fails stays a failure (500), not a 404.
  const g = await grants.get(id).catch((e: unknown) => {
    if (e instanceof PortcullisError && e.code === 'not-found') return null;
    throw e;
  });
  // The grant's owner never changes, so checking before the revoke's own transaction is enough.
  if (!g || g.userId !== user.id) throw new PortcullisError('not-found', `you hold no grant "${id}"; see "My access"`);
  if (g.revokedAt !== null || g.expiresAt <= now) throw new PortcullisError('grant-inactive', `grant ${id} has already ended`);
  return grants.revoke(user, id, GIVEN_BACK);
}
