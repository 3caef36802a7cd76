// CredentialVault: the one place a target credential is decrypted, for the upstream leg only.
// Also owns key rotation: re-seal every value under a new key in one transaction.
import { randomBytes } from 'node:crypto';
import type { GrantRecord, TargetRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { PortcullisError } from '../util/errors.js';
import { commitNewKey, discardNewKey, stageNewKey } from './master-key.js';
import { aadFor, type Vault } from './vault.js';

export interface CheckedOutCredential {
  kind: TargetRecord['credentialKind'];
  account: string;
  secret: Buffer;
  /** Zeroes the secret; call as soon as the upstream login is done. */
  wipe(): void;
}

export class CredentialVault {
  private rotating = false;
  private readonly resealHooks: Array<(vault: Vault) => void> = [];

  constructor(private readonly store: Store, private readonly vault: Vault, private readonly keyFile: string | null) {}

  /** Seal inside the store transaction that writes the value, so a key rotation cannot interleave. */
  sealFor(targetId: string, secret: Buffer | string): string {
    return this.vault.seal(secret, aadFor.target(targetId));
  }

  checkout(grant: GrantRecord, target: TargetRecord): CheckedOutCredential {
    if (grant.targetId !== target.id) throw new PortcullisError('forbidden', 'grant is not for this target');
    return this.open(target);
  }

  /** For an admin's `target test` only: the same credential, without a grant. */
  checkoutForCheck(target: TargetRecord): CheckedOutCredential {
    return this.open(target);
  }

  private open(target: TargetRecord): CheckedOutCredential {
    const secret = this.vault.open(target.credentialSealed, aadFor.target(target.id));
    return { kind: target.credentialKind, account: target.account, secret, wipe: () => secret.fill(0) };
  }

  /**
   * Values sealed outside the store (the audit key file) re-sealed by `hook` during a rotation: after
   * the store's values, before the new key file replaces the old one (a crash in between loads both).
   */
  onReseal(hook: (vault: Vault) => void): void {
    this.resealHooks.push(hook);
  }

  /** Re-encrypts every sealed value under a fresh key. Returns how many values were re-sealed. */
  async rotateKey(): Promise<{ resealed: number; keyId: string }> {
    // Staging, re-sealing and swapping key files must not interleave with a second rotation.
    if (this.rotating) throw new PortcullisError('conflict', 'a key rotation is already running; try again when it has finished');
    this.rotating = true;
    try {
      return await this.rotateNow();
    } finally {
      this.rotating = false;
    }
  }

  private async rotateNow(): Promise<{ resealed: number; keyId: string }> {
    if (!this.keyFile) {
      throw new PortcullisError('conflict',
        'the master key comes from PORTCULLIS_MASTER_KEY; rotate by moving it to a key file first (unset the variable and put it in <data>/master.key)');
    }
    const fresh = randomBytes(32);
    // Stage first: if we crash after the commit below, the next start loads both keys and can read everything.
    stageNewKey(this.keyFile, fresh);
    const before = this.vault.primaryKeyId;
    let resealed = 0;
    try {
      // The key switch happens inside the transaction: whatever another transaction seals (a new
      // target, a TOTP enrolment) runs wholly before it, and is re-sealed here, or wholly after it.
      await this.store.transaction(async () => {
        this.vault.usePrimary(fresh);
        try {
          for (const v of await this.store.sealedValues()) {
            // Recording keys are re-wrapped, not replaced: spans sealed under them stay readable.
            const aad = v.table === 'targets' ? aadFor.target(v.id) : v.table === 'users' ? aadFor.totp(v.id) : aadFor.recordingKey(v.id);
            const plain = this.vault.open(v.sealed, aad);
            await this.store.replaceSealed({ ...v, sealed: this.vault.seal(plain, aad) });
            plain.fill(0);
            resealed++;
          }
        } catch (err) {
          // Back to the old key before the next transaction can seal anything with the new one.
          this.vault.setPrimary(before);
          throw err;
        }
      });
    } catch (err) {
      // The transaction rolled back: the store still holds values under the old key.
      this.vault.setPrimary(before);
      discardNewKey(this.keyFile);
      throw err;
    }
    for (const hook of this.resealHooks) hook(this.vault);
    commitNewKey(this.keyFile);
    this.vault.forgetOldKeys();
    return { resealed, keyId: this.vault.primaryKeyId };
  }
}
