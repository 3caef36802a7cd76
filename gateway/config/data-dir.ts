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
}

export function dataPaths(root: string): DataPaths {
  const r = resolve(root);
  return {
    root: r,
    store: join(r, 'state.db'),
    adminToken: join(r, 'admin.token'),
    hostKey: join(r, 'ssh_host_ed25519_key'),
    recordings: recordingsRoot(r),
    serveInfo: join(r, 'serve.json'),
  };
}

export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  return env.PORTCULLIS_DATA ?? './data';
}
