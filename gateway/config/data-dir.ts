// The files a node owns in its data directory (DESIGN.md §3).
import { join, resolve } from 'node:path';
import { recordingsRoot } from '../../recorder/layout.js';

export interface DataPaths {
  root: string;
  store: string;
  adminToken: string;
  hostKey: string;
  recordings: string;
  /** Written by `serve` once listening: the URL and CA the CLI uses. */
  serveInfo: string;
  /** Written by `init --store`: this data dir belongs to a cluster on a shared store (cluster-marker.ts). */
  clusterMarker: string;
  /** Written by `serve` on joining: this node's incarnation and pid, for a quick restart after a crash (cluster/last-run.ts). */
  lastRun: string;
}

/**
 * `recordingsDir` (config `recordings.dir`, PORTCULLIS_RECORDINGS_DIR): a directory shared by the
 * nodes of a cluster instead of `<data>/recordings`. Everything else stays in the node's data dir.
 */
export function dataPaths(root: string, recordingsDir: string | null = null): DataPaths {
  const r = resolve(root);
  return {
    root: r,
    store: join(r, 'state.db'),
    adminToken: join(r, 'admin.token'),
    hostKey: join(r, 'ssh_host_ed25519_key'),
    recordings: recordingsDir === null ? recordingsRoot(r) : resolve(recordingsDir),
    serveInfo: join(r, 'serve.json'),
    clusterMarker: join(r, 'cluster.json'),
    lastRun: join(r, 'node-run.json'),
  };
}

export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  return env.PORTCULLIS_DATA ?? './data';
}
