// The SSH user CA's key file at init and at every start: made when missing (data dirs from before
// issue 18 get one at their next start). On a cluster every node must sign and trust with one CA,
// so it is shared through the store like the TLS CA (shared-files.ts): the store's copy wins, a
// node that has none yet offers its own, and the first writer wins a race.
import { userCaPath, ensureUserCaFile } from '../ssh/certs/user-ca.js';
import type { Store } from '../store/store.js';
import type { Vault } from '../vault/vault.js';
import { publishSharedFiles, pullSharedFiles } from './shared-files.js';

export async function prepareSshUserCa(root: string, shared: { store: Store; vault: Vault } | null): Promise<void> {
  if (shared) await pullSharedFiles(shared.store, shared.vault, root, ['ssh_user_ca.key']);
  ensureUserCaFile(userCaPath(root));
  if (shared) await publishSharedFiles(shared.store, shared.vault, root, ['ssh_user_ca.key']);
}
