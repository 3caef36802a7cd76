// The cluster's master-key check: a value sealed by the vault under a fixed associated data, stored
// in `store.meta` by the first node's `init`. Only the same master key opens it, so a node with
// another key (a fresh master.key made by mistake, a wrong PORTCULLIS_MASTER_KEY) is refused before
// it seals anything the others cannot read. The value holds the cluster's id, never the key itself,
// and a database writer cannot forge one that opens (AES-GCM under a key it does not have).
// It does not copy the shared files (shared-files.ts) or touch the data dir.
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/store.js';
import { PortcullisError } from '../util/errors.js';
import type { Vault } from '../vault/vault.js';

export const MASTER_KEY_CHECK = 'cluster.master_key_check';
const AAD = 'portcullis-cluster:master-key-check';

export const WRONG_KEY_MESSAGE =
  "this node's master key is not the cluster's: copy master.key from the first node's data dir, or set PORTCULLIS_MASTER_KEY";

/** Whether the store already holds a cluster (a first node ran `init --store` on it). */
export async function clusterExists(store: Store): Promise<boolean> {
  return (await store.meta.get(MASTER_KEY_CHECK)) !== undefined;
}

/**
 * Stores the check value unless a cluster is there already (the first writer wins), then checks
 * this vault against whatever is stored. Returns the cluster id.
 */
export async function claimCluster(store: Store, vault: Vault): Promise<string> {
  await store.meta.putIfAbsent(MASTER_KEY_CHECK, vault.seal(randomUUID(), AAD, 'v2'));
  return verifyClusterKey(store, vault);
}

/** The cluster id, when this vault opens the check value; refuses with a sentence that says what to do otherwise. */
export async function verifyClusterKey(store: Store, vault: Vault): Promise<string> {
  const sealed = await store.meta.get(MASTER_KEY_CHECK);
  if (sealed === undefined) {
    throw new PortcullisError('not-found', 'the store holds no cluster yet: run "portcullis init --data DIR --store URL" on the first node');
  }
  let id: Buffer;
  try {
    id = vault.open(sealed, AAD, 'v2');
  } catch {
    throw new PortcullisError('conflict', WRONG_KEY_MESSAGE);
  }
  return id.toString('utf8');
}
