// The one-time move of target credentials from vault format v1 (AAD = the target's id only) to v2
// (bound to where the credential may be sent, target-binding.ts), at the first start after the
// upgrade. After that, v1 target credentials are never accepted again: CredentialVault opens v2
// only, and this migration does not run again.
// Where "migrated" lives: not in the database. Someone who can write the database could otherwise
// put back a v1 ciphertext from an old backup (or clear a flag) next to a new host and have the
// gateway bind the old credential to the attacker's address. The fact lives in a marker file in
// the data dir (written by `init` for new data dirs, and after this migration commits), which the
// database cannot touch; and a store that already holds any v2 credential is never migrated
// again (another node did it, or someone is replaying old values), whatever the marker says.
// A v1 value left behind is refused with the message to enter the credential again.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../store/store.js';
import { targetBindingAad } from './target-binding.js';
import { aadFor, formatOf, type Vault } from './vault.js';

export interface BindingMigration {
  /** Whether this start was the one that moved to bound credentials (the marker was missing). */
  ran: boolean;
  migrated: number;
  /** Targets whose credential is still v1 (or does not open): refused until entered again. */
  left: string[];
}

export function bindingMarkerPath(dataDir: string): string {
  return join(dataDir, 'vault-bound');
}

/** For `init`: a new data dir never accepts v1 target credentials. */
export function markBound(dataDir: string): void {
  const file = bindingMarkerPath(dataDir);
  if (existsSync(file)) return;
  writeFileSync(file, 'Target credentials here are bound to their target (vault format v2); v1 values are refused.\n' +
    'Do not delete: without this file the next start would convert v1 credentials found in the store.\n', { mode: 0o600 });
}

export async function migrateBindings(store: Store, vault: Vault, dataDir: string): Promise<BindingMigration> {
  const done = existsSync(bindingMarkerPath(dataDir));
  const out = await store.transaction(async () => {
    const targets = await store.targets.list();
    const legacy = targets.filter((t) => formatOf(t.credentialSealed) === 'v1');
    if (done || targets.some((t) => formatOf(t.credentialSealed) === 'v2')) return { migrated: 0, left: legacy.map((t) => t.name) };
    let migrated = 0;
    const left: string[] = [];
    for (const t of legacy) {
      let plain: Buffer;
      try {
        plain = vault.open(t.credentialSealed, aadFor.legacyTarget(t.id), 'v1');
      } catch {
        left.push(t.name);
        continue;
      }
      await store.replaceSealed({ table: 'targets', id: t.id, sealed: vault.seal(plain, targetBindingAad(t), 'v2') });
      plain.fill(0);
      migrated++;
    }
    return { migrated, left };
  });
  // After the commit: a crash before this line leaves v2 values in the store, which stops any rerun.
  if (!done) markBound(dataDir);
  return { ran: !done, ...out };
}
