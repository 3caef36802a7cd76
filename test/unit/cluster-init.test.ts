// `init --store` on two data dirs sharing one store (here one SQLite file standing in for the
// cluster's PostgreSQL: the join logic only speaks to store.meta and the services): the first node
// makes the cluster, the second joins with the copied master key and gets the same CA, SSH host key
// and audit key, its own listener certificate and admin token; a node with another master key, or
// with none, is refused and told why; serve's store check refuses a data dir and store that do not
// belong together. The e2e test (cluster-join.test.ts) does the same with a real PostgreSQL.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { certPaths } from '../../certs/ca.js';
import { type StoreOpener, initClusterNode } from '../../gateway/cluster/cluster-init.js';
import { MASTER_KEY_CHECK } from '../../gateway/cluster/master-key-check.js';
import { openServeStore } from '../../gateway/cluster/serve-store.js';
import { sharedFileKey } from '../../gateway/cluster/shared-files.js';
import { loadConfig } from '../../gateway/config/config.js';
import { dataPaths } from '../../gateway/config/data-dir.js';
import { openSqliteStore } from '../../gateway/store/sqlite/sqlite-store.js';
import { sha256Hex } from '../../gateway/util/ids.js';

const URL = 'postgres://portcullis:s3cret-pw@127.0.0.1:5999/portcullis';
let dir: string;
let shared: string;
const open: StoreOpener = () => Promise.resolve(openSqliteStore(shared));
const env: NodeJS.ProcessEnv = {};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pc-cluster-init-'));
  shared = join(dir, 'shared.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function config(node: string): ReturnType<typeof loadConfig> {
  return loadConfig({ data: join(dir, node), env, flags: { store: URL, node } });
}

const read = (p: string): string => readFileSync(p, 'utf8');

describe('init --store', () => {
  it('makes the cluster on the first node and lets a second node with the copied master key join it', async () => {
    const first = await initClusterNode(config('n1'), URL, env, false, open);
    expect(first).toMatchObject({ created: true, joined: false });
    const d1 = dataPaths(join(dir, 'n1'));
    const d2 = dataPaths(join(dir, 'n2'));
    mkdirSync(d2.root, { mode: 0o700 });
    copyFileSync(join(d1.root, 'master.key'), join(d2.root, 'master.key'));
    const second = await initClusterNode(config('n2'), URL, env, false, open);
    expect(second).toMatchObject({ created: true, joined: true });

    const c1 = certPaths(d1.root);
    const c2 = certPaths(d2.root);
    expect(read(c2.caCert)).toBe(read(c1.caCert));
    expect(read(c2.caKey)).toBe(read(c1.caKey));
    expect(read(d2.hostKey)).toBe(read(d1.hostKey));
    expect(read(d2.hostKey + '.pub')).toBe(read(d1.hostKey + '.pub'));
    expect(read(join(d2.root, 'audit.key'))).toBe(read(join(d1.root, 'audit.key')));
    // One SSH user CA: a certificate issued by one node logs in on every node.
    expect(read(join(d2.root, 'certs/ssh_user_ca.key'))).toBe(read(join(d1.root, 'certs/ssh_user_ca.key')));
    // Each node's own: its listener certificate, its audit signing key, its admin token.
    expect(read(c2.serverCert)).not.toBe(read(c1.serverCert));
    const t1 = read(d1.adminToken).trim();
    const t2 = read(d2.adminToken).trim();
    expect(t2).not.toBe(t1);
    const store = openSqliteStore(shared);
    try {
      const admin = await store.users.byName('admin');
      expect(admin).toBeDefined();
      expect((await store.tokens.byHash(sha256Hex(t1)))?.userId).toBe(admin!.id);
      expect((await store.tokens.byHash(sha256Hex(t2)))?.userId).toBe(admin!.id);
      // Nothing in the store is the plain key or file: every shared value is sealed.
      for (const key of [MASTER_KEY_CHECK, sharedFileKey('ca.key'), sharedFileKey('ssh_host_ed25519_key'), sharedFileKey('ssh_user_ca.key')]) {
        const v = await store.meta.get(key);
        expect(v).toMatch(/^v2\./);
        expect(v).not.toContain('PRIVATE KEY');
      }
      expect(await store.meta.get(MASTER_KEY_CHECK)).not.toContain(read(join(d1.root, 'master.key')).trim());
    } finally {
      await store.close();
    }
    expect(JSON.parse(read(d2.clusterMarker))).toMatchObject({ v: 1, store: 'postgres://portcullis@127.0.0.1:5999/portcullis' });
    expect(read(d2.clusterMarker)).not.toContain('s3cret-pw');
  });

  it('refuses a joining node without a master key, and one with another key, saying what to do', async () => {
    await initClusterNode(config('n1'), URL, env, false, open);
    await expect(initClusterNode(config('n2'), URL, env, false, open)).rejects.toThrow(/already holds a cluster: copy master.key from the first node's data dir .* or set PORTCULLIS_MASTER_KEY/);
    expect(existsSync(join(dir, 'n2', 'master.key'))).toBe(false);
    const other = { PORTCULLIS_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') };
    const cfg = loadConfig({ data: join(dir, 'n3'), env: other, flags: { store: URL, node: 'n3' } });
    await expect(initClusterNode(cfg, URL, other, false, open)).rejects.toThrow("this node's master key is not the cluster's: copy master.key from the first node's data dir, or set PORTCULLIS_MASTER_KEY");
    expect(existsSync(dataPaths(join(dir, 'n3')).clusterMarker)).toBe(false);
    expect(existsSync(dataPaths(join(dir, 'n3')).adminToken)).toBe(false);
  });

  it('refuses to run twice on one data dir unless --if-missing', async () => {
    await initClusterNode(config('n1'), URL, env, false, open);
    await expect(initClusterNode(config('n1'), URL, env, false, open)).rejects.toThrow(/already initialized/);
    await expect(initClusterNode(config('n1'), URL, env, true, open)).resolves.toMatchObject({ created: false });
  });
});

describe("serve's store check", () => {
  it('opens the store of a node that joined, and refuses the same data dir once its master key is replaced', async () => {
    await initClusterNode(config('n1'), URL, env, false, open);
    const store = await openServeStore(config('n1'), env, () => Promise.resolve(openSqliteStore(shared)));
    await store.close();
    writeFileSync(join(dir, 'n1', 'master.key'), Buffer.alloc(32, 9).toString('base64') + '\n', { mode: 0o600 });
    await expect(openServeStore(config('n1'), env, () => Promise.resolve(openSqliteStore(shared)))).rejects.toThrow("this node's master key is not the cluster's");
  });

  it('refuses a cluster data dir without --store, and a single-node data dir with one', async () => {
    await initClusterNode(config('n1'), URL, env, false, open);
    const noStore = loadConfig({ data: join(dir, 'n1'), env, flags: { node: 'n1' } });
    await expect(openServeStore(noStore, env)).rejects.toThrow(/belongs to the cluster on postgres:\/\/portcullis@127.0.0.1:5999\/portcullis: start it with --store URL/);
    mkdirSync(join(dir, 'solo'));
    await expect(openServeStore(loadConfig({ data: join(dir, 'solo'), env, flags: { store: URL } }), env)).rejects.toThrow(/was not initialized for a shared store/);
  });
});
