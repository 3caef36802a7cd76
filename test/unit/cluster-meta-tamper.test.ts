// A database writer tampers with the cluster's shared files in store.meta before a node joins: a
// sealed value swapped for another file's (both sealed under the real master key), or replaced by
// junk. The joining node must refuse, say which file and what to do, and be left unjoined (no
// cluster marker, no admin token): never take a CA or host key the first node did not publish.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type StoreOpener, initClusterNode } from '../../gateway/cluster/cluster-init.js';
import { sharedFileKey } from '../../gateway/cluster/shared-files.js';
import { loadConfig } from '../../gateway/config/config.js';
import { dataPaths } from '../../gateway/config/data-dir.js';
import { openSqliteStore } from '../../gateway/store/sqlite/sqlite-store.js';

const URL = 'postgres://portcullis:s3cret-pw@127.0.0.1:5999/portcullis';
let dir: string;
let shared: string;
const open: StoreOpener = () => Promise.resolve(openSqliteStore(shared));
const env: NodeJS.ProcessEnv = {};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pc-meta-tamper-'));
  shared = join(dir, 'shared.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const config = (node: string): ReturnType<typeof loadConfig> => loadConfig({ data: join(dir, node), env, flags: { store: URL, node } });

interface Meta { get(k: string): Promise<string | undefined>; put(k: string, v: string): Promise<void> }

/** n1 makes the cluster; n2's data dir gets the master key; `tamper` then edits the store as a database writer. */
async function joinAfter(tamper: (meta: Meta) => Promise<void>): Promise<unknown> {
  await initClusterNode(config('n1'), URL, env, false, open);
  const d2 = dataPaths(join(dir, 'n2'));
  mkdirSync(d2.root, { mode: 0o700 });
  copyFileSync(join(dir, 'n1', 'master.key'), join(d2.root, 'master.key'));
  const store = openSqliteStore(shared);
  try {
    await tamper({ get: (k) => store.meta.get(k), put: (k, v) => store.meta.put(k, v) });
  } finally {
    await store.close();
  }
  return initClusterNode(config('n2'), URL, env, false, open).then(() => null, (e: unknown) => e);
}

describe('shared files tampered with in the store', () => {
  for (const [what, edit] of [
    ['the sealed CA key swapped for the sealed SSH host key', async (m: Meta) => {
      await m.put(sharedFileKey('ca.key'), (await m.get(sharedFileKey('ssh_host_ed25519_key')))!);
    }],
    ['the sealed CA certificate replaced by junk', async (m: Meta) => {
      await m.put(sharedFileKey('ca.crt'), 'v2.AAAA.BBBB.CCCC');
    }],
    ['the sealed audit key swapped for the sealed CA key', async (m: Meta) => {
      await m.put(sharedFileKey('audit.key'), (await m.get(sharedFileKey('ca.key')))!);
    }],
  ] as const) {
    it(`refuses to join with ${what}, naming the file, and leaves the node unjoined`, async () => {
      const err = await joinAfter(edit);
      expect(err).toBeInstanceOf(Error);
      expect(String((err as Error).message)).toMatch(/does not open with the master key \(replaced or damaged\)/);
      expect(String((err as Error).message)).not.toContain('s3cret-pw');
      const d2 = dataPaths(join(dir, 'n2'));
      expect(existsSync(d2.clusterMarker)).toBe(false);
      expect(existsSync(d2.adminToken)).toBe(false);
    });
  }
});
