// `portcullis init --store URL` (called by cli/init.ts): make a data dir for a node of a cluster on a shared PostgreSQL.
// First node (the store holds no cluster yet): as a single node's init — master key unless
// PORTCULLIS_MASTER_KEY, CA, SSH host key, audit signing key, admin user and admin.token — plus, in
// the store, the master-key check and the files every node must share (cluster/shared-files.ts).
// Joining node: the operator brought the cluster's master key (master.key copied in first, or
// PORTCULLIS_MASTER_KEY); it must open the check; the shared CA, host key and audit.key are written
// from the store into this data dir; the node gets its own listener certificate (from the shared
// CA), its own audit signing key and checkpoints, and its own admin token for the cluster's admin
// user (the first node's token is stored only as a hash: it cannot be read back).
// `cluster.json` is written last: a data dir without it is not initialized (init may run again).
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { certPaths, ensureCerts } from '../../certs/ca.js';
import { buildApp } from '../app.js';
import { writeClusterMarker } from './cluster-marker.js';
import { claimCluster, clusterExists, verifyClusterKey } from './master-key-check.js';
import { openNodeStore } from './node-store.js';
import { publishSharedFiles, pullSharedFiles } from './shared-files.js';
import { prepareSshUserCa } from './ssh-user-ca.js';
import type { Config } from '../config/config.js';
import { dataPaths } from '../config/data-dir.js';
import { createLogger } from '../log/logger.js';
import { newHostKeyPair } from '../ssh/host-key.js';
import type { Store } from '../store/store.js';
import { systemClock } from '../util/clock.js';
import { PortcullisError } from '../util/errors.js';
import { markBound } from '../vault/binding-migration.js';
import { createMasterKeyFile, loadMasterKeys, masterKeyPath } from '../vault/master-key.js';
import { Vault } from '../vault/vault.js';

export interface ClusterInitResult {
  created: boolean;
  dataDir: string;
  /** True when the store already held a cluster and this node joined it. */
  joined: boolean;
}

const ADMIN = 'admin';

/** Opens the shared store (tests pass another, e.g. two data dirs on one SQLite file). */
export type StoreOpener = (url: string) => Promise<Store>;

export async function initClusterNode(
  config: Config, storeUrl: string, env: NodeJS.ProcessEnv, ifMissing: boolean,
  open: StoreOpener = (url) => openNodeStore({ url, sqliteFile: dataPaths(config.data).store }),
): Promise<ClusterInitResult> {
  const paths = dataPaths(config.data);
  if (existsSync(paths.clusterMarker)) {
    if (ifMissing) return { created: false, dataDir: paths.root, joined: false };
    throw new PortcullisError('conflict', `${paths.root} is already initialized; use it with "portcullis serve --data ${paths.root} --store URL --node NAME"`);
  }
  if (existsSync(paths.store)) {
    throw new PortcullisError('conflict', `${paths.root} is already initialized for a single node (SQLite in ${paths.store}); a cluster node needs a data dir of its own`);
  }
  const store = await open(storeUrl);
  let handedOver = false;
  try {
    const joining = await clusterExists(store);
    const keyFromEnv = Boolean(env.PORTCULLIS_MASTER_KEY);
    if (joining && !keyFromEnv && !existsSync(masterKeyPath(paths.root))) {
      throw new PortcullisError('conflict',
        `the store already holds a cluster: copy master.key from the first node's data dir into ${paths.root} (mode 0600), or set PORTCULLIS_MASTER_KEY, then run init again`);
    }
    mkdirSync(paths.root, { recursive: true, mode: 0o700 });
    chmodSync(paths.root, 0o700);
    const createdKey = !joining && !keyFromEnv && !existsSync(masterKeyPath(paths.root));
    if (createdKey) createMasterKeyFile(paths.root);
    const vault = new Vault(loadMasterKeys(paths.root, env).keys);
    let clusterId: string;
    try {
      // Two first nodes racing: one check value wins; the other's key does not open it.
      clusterId = joining ? await verifyClusterKey(store, vault) : await claimCluster(store, vault);
    } catch (err) {
      // A key this init made and the cluster refused is nobody's: leave no file that looks valid.
      if (createdKey) rmSync(masterKeyPath(paths.root), { force: true });
      throw err;
    }
    // A new store never holds a v1 (unbound) target credential (a joining node: the first one's init said so).
    markBound(paths.root);
    await pullSharedFiles(store, vault, paths.root);
    makeLocalFiles(config, paths.hostKey);
    const replaced = await publishSharedFiles(store, vault, paths.root, ['ca.crt', 'ca.key', 'ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub']);
    if (replaced.includes('ca.crt') || replaced.includes('ca.key')) {
      // Another first node published its CA before ours: our listener certificate is from a CA nobody trusts.
      const c = certPaths(paths.root);
      rmSync(c.serverCert, { force: true });
      rmSync(c.serverKey, { force: true });
      ensureCerts(paths.root, config.hostnames);
    }
    await prepareSshUserCa(paths.root, { store, vault });
    handedOver = true;
    await withApp(config, env, store, async (app) => {
      // The first checkpoint of this node's own file; with the cluster's audit.key in place it
      // fixes keying where the cluster's began (the first node: at seq 1 of the new chain).
      await app.checkpoints.start();
      const admin = joining ? await app.users.get(ADMIN) : await app.users.add('init', { name: ADMIN, roles: ['admin'], kind: 'service' });
      const { token } = await app.authn.issueToken('init', admin, `admin token (init, node data dir ${paths.root})`, null);
      writeFileSync(paths.adminToken, token + '\n', { mode: 0o600 });
      // audit.key exists once keying is fixed (checkpoints.start persisted it): one chain key for every node.
      await publishSharedFiles(app.store, app.vault, paths.root, ['audit.key']);
    });
    writeClusterMarker(paths.clusterMarker, clusterId, storeUrl);
    return { created: true, dataDir: paths.root, joined: joining };
  } finally {
    if (!handedOver) await store.close().catch(() => undefined);
  }
}

/** This node's own files: the CA only when the store had none (first node), then the listener certificate and the host key. */
function makeLocalFiles(config: Config, hostKey: string): void {
  ensureCerts(config.data, config.hostnames);
  if (!existsSync(hostKey)) {
    const kp = newHostKeyPair();
    writeFileSync(hostKey, kp.private, { mode: 0o600 });
    writeFileSync(hostKey + '.pub', kp.public + '\n', { mode: 0o644 });
  }
}

async function withApp(config: Config, env: NodeJS.ProcessEnv, store: Store, fn: (app: ReturnType<typeof buildApp>) => Promise<void>): Promise<void> {
  // The app owns the store from here and closes it.
  let app: ReturnType<typeof buildApp>;
  try {
    app = buildApp(config, { clock: systemClock, env, log: createLogger('silent'), store });
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  try {
    await fn(app);
  } finally {
    await app.close();
  }
}
