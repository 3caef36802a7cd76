// CredentialVault: the one place a target credential is decrypted, for the upstream leg only. A
// target credential is sealed in vault format v2 with the target's binding as associated data
// (target-binding.ts): it opens only for the target it was entered for — same id, address, account,
// TLS settings and host key — and never in the old v1 format (binding-migration.ts converts those
// once). Also owns key rotation: re-seal every value under a new key in one transaction, verify
// that everything opens with the key file alone, then remove the previous key file.
import { randomBytes } from 'node:crypto';
import type { GrantRecord, TargetRecord } from '../store/records.js';
import type { SealedValue, Store } from '../store/store.js';
import { PortcullisError } from '../util/errors.js';
import { commitNewKey, discardNewKey, readKeyFile, readStagedKey, removeOldKey, stageNewKey } from './master-key.js';
import { targetBindingAad } from './target-binding.js';
import { aadFor, Vault } from './vault.js';

export interface CheckedOutCredential {
  kind: TargetRecord['credentialKind'];
  account: string;
  secret: Buffer;
  /** Zeroes the secret; call as soon as the upstream login is done. */
  wipe(): void;
}

/**
 * A target credential that does not open for the target as it stands: the target was changed
 * outside Portcullis (or the value was put back from an older store). The message tells the admin
 * what to do; it never carries the value.
 */
export class CredentialUnbound extends PortcullisError {
  constructor(readonly target: string, credentialKind: TargetRecord['credentialKind']) {
    super('conflict', `the vaulted credential of ${target} does not open for its current host, port, account or TLS settings: ` +
      'they were changed outside Portcullis, or the credential was put back from an older store. An admin must check the target ' +
      `("portcullis target list") and enter its credential again: portcullis target update ${target} ` +
      (credentialKind === 'private-key' ? '--key-file FILE' : '--password-stdin'));
  }
}

export interface Rotation {
  resealed: number;
  keyId: string;
  /** Every sealed value opened with the new key file alone after the swap. */
  verified: boolean;
  /** master.key.old was removed (verified, and not asked to keep it). */
  oldKeyRemoved: boolean;
}

export class CredentialVault {
  private rotating = false;
  private readonly resealHooks: Array<(vault: Vault) => void> = [];

  constructor(private readonly store: Store, private readonly vault: Vault, private readonly keyFile: string | null) {}

  /** Seal inside the store transaction that writes the value, so a key rotation cannot interleave. */
  sealFor(target: TargetRecord, secret: Buffer | string): string {
    return this.vault.seal(secret, targetBindingAad(target), 'v2');
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
    const secret = openTarget(this.vault, target);
    return { kind: target.credentialKind, account: target.account, secret, wipe: () => secret.fill(0) };
  }

  /**
   * Values sealed outside the store (the audit key file) re-sealed by `hook` during a rotation: after
   * the store's values, before the new key file replaces the old one (a crash in between loads both).
   */
  onReseal(hook: (vault: Vault) => void): void {
    this.resealHooks.push(hook);
  }

  /** Re-encrypts every sealed value under a fresh key. */
  async rotateKey(opts: { keepOld?: boolean } = {}): Promise<Rotation> {
    // Staging, re-sealing and swapping key files must not interleave with a second rotation.
    if (this.rotating) throw new PortcullisError('conflict', 'a key rotation is already running; try again when it has finished');
    this.rotating = true;
    try {
      return await this.rotateNow(opts.keepOld ?? false);
    } finally {
      this.rotating = false;
    }
  }

  private async rotateNow(keepOld: boolean): Promise<Rotation> {
    // On a shared store every node holds the master key and the cluster's check value and shared
    // files (store.meta) are sealed under it: rotating on one node would lock the others (and this
    // one, at its next start) out. Refused until a cluster-wide rotation exists.
    if (this.store.kind === 'postgres') {
      throw new PortcullisError('conflict', 'vault rotate-key is not supported on a cluster of several nodes yet: every node shares the master key');
    }
    const keyFile = this.keyFile;
    if (!keyFile) {
      throw new PortcullisError('conflict',
        'the master key comes from PORTCULLIS_MASTER_KEY; rotate by moving it to a key file first (unset the variable and put it in <data>/master.key)');
    }
    // An interrupted rotation left its key staged (and loaded at start): some values may already be
    // sealed under it, so finish with that key instead of overwriting the only copy on disk.
    const staged = readStagedKey(keyFile);
    const fresh = staged ?? randomBytes(32);
    // Stage first: if we crash after the commit below, the next start loads both keys and can read everything.
    if (!staged) stageNewKey(keyFile, fresh);
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
            const how = await this.sealing(v);
            const plain = how.open(this.vault);
            await this.store.replaceSealed({ ...v, sealed: how.seal(this.vault, plain) });
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
      if (!staged) discardNewKey(keyFile);
      throw err;
    }
    for (const hook of this.resealHooks) hook(this.vault);
    commitNewKey(keyFile);
    this.vault.forgetOldKeys();
    // The old key file goes only once the key file on disk is proved to open everything the store
    // holds; otherwise it stays (a backup of the store from before the rotation still needs it).
    const verified = await this.verify(new Vault([readKeyFile(keyFile)]));
    const oldKeyRemoved = verified && !keepOld;
    if (oldKeyRemoved) removeOldKey(keyFile);
    return { resealed, keyId: this.vault.primaryKeyId, verified, oldKeyRemoved };
  }

  private async verify(onDisk: Vault): Promise<boolean> {
    try {
      for (const v of await this.store.sealedValues()) (await this.sealing(v)).open(onDisk).fill(0);
      return true;
    } catch {
      return false;
    }
  }

  /** How one stored value is opened and sealed again: its own AAD and format. */
  private async sealing(v: SealedValue): Promise<{ open(vault: Vault): Buffer; seal(vault: Vault, plain: Buffer): string }> {
    switch (v.table) {
      case 'targets': {
        const t = await this.store.targets.byId(v.id);
        if (!t) throw new PortcullisError('internal', `target ${v.id} vanished during the key rotation`);
        const target = { ...t, credentialSealed: v.sealed };
        // A credential that does not open for its target stops the rotation (rolled back): the
        // admin re-enters it first. Re-sealing it blindly would carry a planted value over.
        return { open: (vault) => openTarget(vault, target), seal: (vault, plain) => vault.seal(plain, targetBindingAad(target), 'v2') };
      }
      case 'target_pending': {
        // A rotation's pending secret is sealed exactly like the credential it will replace.
        const t = await this.store.targets.byId(v.id);
        if (!t) throw new PortcullisError('internal', `target ${v.id} vanished during the key rotation`);
        const target = { ...t, credentialSealed: v.sealed };
        return { open: (vault) => openTarget(vault, target), seal: (vault, plain) => vault.seal(plain, targetBindingAad(target), 'v2') };
      }
      case 'ephemeral_accounts': {
        const a = await this.store.ephemeral.byId(v.id);
        if (!a) throw new PortcullisError('internal', `ephemeral account ${v.id} vanished during the key rotation`);
        const aad = aadFor.ephemeral(a.id, a.targetId, a.account);
        return { open: (vault) => vault.open(v.sealed, aad), seal: (vault, plain) => vault.seal(plain, aad) };
      }
      case 'users':
        return { open: (vault) => vault.open(v.sealed, aadFor.totp(v.id)), seal: (vault, plain) => vault.seal(plain, aadFor.totp(v.id)) };
      case 'recording_keys':
        return { open: (vault) => vault.open(v.sealed, aadFor.recordingKey(v.id)), seal: (vault, plain) => vault.seal(plain, aadFor.recordingKey(v.id)) };
    }
  }
}

/** Opens a target credential for the target as it stands (v2 only), or says it must be entered again. */
function openTarget(vault: Vault, target: TargetRecord): Buffer {
  // A key this gateway does not hold is a configuration problem (wrong master key), not a re-point.
  if (!vault.holds(target.credentialSealed) && /^v[12]\./.test(target.credentialSealed)) {
    throw new PortcullisError('internal', `the credential of ${target.name} is sealed under a master key this gateway does not hold`);
  }
  try {
    return vault.open(target.credentialSealed, targetBindingAad(target), 'v2');
  } catch {
    throw new CredentialUnbound(target.name, target.credentialKind);
  }
}
