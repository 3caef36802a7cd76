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

/**
 * How static checkouts meet rotation of the vaulted credential (gateway/provision/rotation.ts), as
 * a port so this folder does not import provision/. A checkout waits (bounded) while the target's
 * credential is being rotated, and holds further rotation off until its upstream login is done (the
 * first wipe): a secret checked out just before a password change would no longer log in.
 */
export interface CheckoutGate {
  /** Resolves once no rotation of the target runs, with the target as it stands now (its credential may have been replaced). */
  enter(target: TargetRecord): Promise<{ target: TargetRecord; release(): void }>;
  /** A session's credential on this target was revoked: its session is over (the after-session rotation trigger). */
  ended(target: TargetRecord): void;
}

/** Today's credentials: the target's vaulted secret, checked out for the grant. */
export class StaticCredentials implements Credentials {
  /** What revoking each issued credential must also do: let rotation go on, and say the session ended. */
  private readonly issued = new WeakMap<IssuedCredential, { target: TargetRecord; release(): void }>();

  constructor(private readonly vault: CredentialVault, private readonly gate?: CheckoutGate) {}

  async issue(grant: GrantRecord, target: TargetRecord): Promise<IssuedCredential> {
    if (!this.gate) return this.checkout(grant, target);
    const held = await this.gate.enter(target);
    let c: IssuedCredential;
    try {
      c = this.checkout(grant, held.target);
    } catch (err) {
      held.release();
      throw err;
    }
    // The login is done at the adapter's first wipe: from then on a rotation cannot hurt it.
    const out: IssuedCredential = { ...c, wipe: () => { c.wipe(); held.release(); } };
    this.issued.set(out, { target: held.target, release: () => held.release() });
    return out;
  }

  private checkout(grant: GrantRecord, target: TargetRecord): IssuedCredential {
    let c: CheckedOutCredential;
    try {
      c = this.vault.checkout(grant, target);
    } catch (err) {
      // The credential is bound elsewhere (the target was repointed outside Portcullis): the client
      // and the audit trail get why, and the admin's next step; never anything of the value.
      if (err instanceof CredentialUnbound) throw new UpstreamFailure('credential-unbound', err.message);
      throw err;
    }
    return { kind: c.kind, account: c.account, secret: c.secret, wipe: () => c.wipe(), source: 'static' };
  }

  /** Nothing lives on the target: revoking is wiping our copy, which is idempotent. */
  revoke(credential: IssuedCredential): Promise<void> {
    credential.wipe();
    const held = this.issued.get(credential);
    if (held) {
      this.issued.delete(credential);
      this.gate?.ended(held.target);
    }
    return Promise.resolve();
  }
}
