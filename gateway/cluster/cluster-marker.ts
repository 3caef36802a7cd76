// `<data>/cluster.json`: written last by `init --store`, it says this data dir belongs to a cluster
// on a shared store (its id, and the store URL without the password). `serve` reads it so a node is
// never started on the wrong store by mistake: a cluster node without `--store` would otherwise open
// an empty SQLite store in its data dir and serve with nobody's grants; a SQLite data dir pointed at
// a PostgreSQL store would lack the cluster's CA and host key; a data dir of one cluster pointed at
// another cluster's store (same master key) would mix two audit chains' keys.
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../recorder/atomic-file.js';
import { PortcullisError } from '../util/errors.js';
import { redactStoreUrl } from './node-store.js';

export interface ClusterMarker {
  v: 1;
  cluster: string;
  /** Redacted (no password): for people reading the file and the error messages. */
  store: string;
}

export function writeClusterMarker(file: string, cluster: string, storeUrl: string): void {
  const m: ClusterMarker = { v: 1, cluster, store: redactStoreUrl(storeUrl) };
  writeFileAtomic(file, JSON.stringify(m, null, 2) + '\n', 0o600);
}

export function readClusterMarker(file: string): ClusterMarker | null {
  if (!existsSync(file)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new PortcullisError('internal', `${file} is not valid JSON`);
  }
  const m = raw as Partial<ClusterMarker> | null;
  if (!m || m.v !== 1 || typeof m.cluster !== 'string' || typeof m.store !== 'string') throw new PortcullisError('internal', `${file} is not a cluster marker`);
  return { v: 1, cluster: m.cluster, store: m.store };
}

/** Refuses a data dir and a configured store that do not belong together (before the store is opened). */
export function checkStoreMatchesDataDir(marker: ClusterMarker | null, storeUrl: string | null, dataDir: string): void {
  if (marker !== null && storeUrl === null) {
    throw new PortcullisError('conflict', `${dataDir} belongs to the cluster on ${marker.store}: start it with --store URL (or store: in portcullis.yaml, or PORTCULLIS_STORE)`);
  }
  if (marker === null && storeUrl !== null) {
    throw new PortcullisError('conflict', `${dataDir} was not initialized for a shared store: run "portcullis init --data ${dataDir} --store URL" first`);
  }
}

/** Refuses a store that holds another cluster than the one this data dir joined. */
export function checkSameCluster(marker: ClusterMarker, clusterId: string, dataDir: string): void {
  if (marker.cluster !== clusterId) {
    throw new PortcullisError('conflict', `${dataDir} belongs to another cluster than the one in this store (it was initialized on ${marker.store}): initialize a new data dir for this store`);
  }
}
