// Credentials for the upstream leg: issued per session by the pipeline after the session is
// recorded and before the upstream login, revoked when the session ends — whatever ended it.
// Today the only implementation hands out the target's static vaulted secret (revoking it just
// wipes our copy); the next issue creates an ephemeral per-grant account on the target, so issuing
// and revoking are async and may talk to the target. Adapters only see `UpstreamCredential` and
// wipe the secret as soon as their upstream login is done. Does not decide who may have one: the
// pipeline only asks after the AccessDecider allowed the session.
import type { GrantRecord, TargetRecord } from '../store/records.js';
import { type CheckedOutCredential, CredentialUnbound, type CredentialVault } from '../vault/credential-vault.js';
import { UpstreamFailure } from './upstream-failure.js';

/** What an adapter's upstream login needs, and nothing else. */
export interface UpstreamCredential {
  kind: TargetRecord['credentialKind'];
  account: string;
  secret: Buffer;
  /** Zeroes the secret; call as soon as the upstream login is done (the pipeline calls it again after). */
  wipe(): void;
}

/** An issued credential: the upstream login material plus what revoking it needs. */
export interface IssuedCredential extends UpstreamCredential {
  /** Where it came from, for logs and audit ("static", later "ephemeral"). */
  readonly source: string;
}

export interface Credentials {
  /** A credential for this grant's session on this target; `level` picks a privilege level (later issue). */
  issue(grant: GrantRecord, target: TargetRecord, level?: string): Promise<IssuedCredential>;
  /** Ends the credential's use. Idempotent; throws when it could not be revoked (the caller logs and audits). */
  revoke(credential: IssuedCredential): Promise<void>;
}

/** Today's credentials: the target's vaulted secret, checked out for the grant. */
export class StaticCredentials implements Credentials {
  constructor(private readonly vault: CredentialVault) {}

  issue(grant: GrantRecord, target: TargetRecord): Promise<IssuedCredential> {
    // The vault is synchronous; a throw becomes a rejected promise so callers see one shape.
    return new Promise((resolve) => {
      let c: CheckedOutCredential;
      try {
        c = this.vault.checkout(grant, target);
      } catch (err) {
        // The credential is bound elsewhere (the target was repointed outside Portcullis): the client
        // and the audit trail get why, and the admin's next step; never anything of the value.
        if (err instanceof CredentialUnbound) throw new UpstreamFailure('credential-unbound', err.message);
        throw err;
      }
      resolve({ kind: c.kind, account: c.account, secret: c.secret, wipe: () => c.wipe(), source: 'static' });
    });
  }

  /** Nothing lives on the target: revoking is wiping our copy, which is idempotent. */
  revoke(credential: IssuedCredential): Promise<void> {
    credential.wipe();
    return Promise.resolve();
  }
}
