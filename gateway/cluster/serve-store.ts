// The store `serve` runs on, opened before the services are built: SQLite in the data dir, or the
// cluster's PostgreSQL. A cluster node repeats init's master-key check at every start (a node
// started later with another key, or on another cluster's store, refuses to join and says why);
// nothing else is started before the check passes.
// It does not register the node (membership does, once the app runs).
import type { Config } from '../config/config.js';
import { dataPaths } from '../config/data-dir.js';
import type { Store } from '../store/store.js';
import { loadMasterKeys } from '../vault/master-key.js';
import { Vault } from '../vault/vault.js';
import { checkSameCluster, checkStoreMatchesDataDir, readClusterMarker } from './cluster-marker.js';
import { verifyClusterKey } from './master-key-check.js';
import { openNodeStore } from './node-store.js';

export async function openServeStore(
  config: Config, env: NodeJS.ProcessEnv,
  open: (where: { url: string | null; sqliteFile: string }) => Promise<Store> = openNodeStore,
): Promise<Store> {
  const paths = dataPaths(config.data);
  const marker = readClusterMarker(paths.clusterMarker);
  checkStoreMatchesDataDir(marker, config.store, paths.root);
  const store = await open({ url: config.store, sqliteFile: paths.store });
  if (marker === null) return store;
  try {
    const id = await verifyClusterKey(store, new Vault(loadMasterKeys(paths.root, env).keys));
    checkSameCluster(marker, id, paths.root);
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}
