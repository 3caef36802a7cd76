// `portcullis init`: create a data directory with everything a node owns: store, master key, CA and
// listener certificate, SSH host key, SSH user CA, the audit signing key and first checkpoint, and the admin service account whose token is written to
// admin.token (mode 0600). Opens the store directly: there is no server yet.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { newHostKeyPair } from '../ssh/host-key.js';
import { ensureCerts } from '../../certs/ca.js';
import { buildApp } from '../app.js';
import { loadConfig } from '../config/config.js';
import { dataPaths } from '../config/data-dir.js';
import { createLogger } from '../log/logger.js';
import { systemClock } from '../util/clock.js';
import { PortcullisError } from '../util/errors.js';
import { markBound } from '../vault/binding-migration.js';
import { createMasterKeyFile } from '../vault/master-key.js';
import { redactStoreUrl } from '../cluster/node-store.js';
import { initClusterNode } from '../cluster/cluster-init.js';
import { prepareSshUserCa } from '../cluster/ssh-user-ca.js';

export interface InitResult {
  created: boolean;
  dataDir: string;
  /** With a shared store: whether this node joined a cluster another node's init made (false: it made it). */
  joined?: boolean;
  /** The store URL without its password, with a shared store. */
  store?: string;
}

export async function initDataDir(
  dataDir: string, env: NodeJS.ProcessEnv, opts: { ifMissing: boolean; configFile?: string | undefined; store?: string | undefined },
): Promise<InitResult> {
  // A shared store (--store, store: in the config, PORTCULLIS_STORE): a cluster node (init-cluster.ts).
  const clustered = loadConfig({ data: dataDir, file: opts.configFile, env, flags: { store: opts.store } });
  if (clustered.store !== null) {
    const r = await initClusterNode(clustered, clustered.store, env, opts.ifMissing);
    return { ...r, store: redactStoreUrl(clustered.store) };
  }
  const paths = dataPaths(dataDir);
  if (existsSync(paths.store)) {
    if (opts.ifMissing) return { created: false, dataDir: paths.root };
    throw new PortcullisError('conflict', `${paths.root} is already initialized; use it with "portcullis serve --data ${dataDir}"`);
  }
  mkdirSync(paths.root, { recursive: true, mode: 0o700 });
  chmodSync(paths.root, 0o700);
  if (!env.PORTCULLIS_MASTER_KEY) createMasterKeyFile(paths.root);
  // A new store never holds a v1 (unbound) target credential: none is ever accepted here.
  markBound(paths.root);
  const config = loadConfig({ data: paths.root, file: opts.configFile, env });
  ensureCerts(paths.root, config.hostnames);
  if (!existsSync(paths.hostKey)) {
    const kp = newHostKeyPair();
    writeFileSync(paths.hostKey, kp.private, { mode: 0o600 });
    writeFileSync(paths.hostKey + '.pub', kp.public + '\n', { mode: 0o644 });
  }
  await prepareSshUserCa(paths.root, null);
  const app = buildApp(config, { clock: systemClock, env, log: createLogger('silent') });
  try {
    // The first checkpoint: keying begins at seq 1 of a new data dir.
    await app.checkpoints.start();
    const admin = await app.users.add('init', { name: 'admin', roles: ['admin'], kind: 'service' });
    const { token } = await app.authn.issueToken('init', admin, 'admin token (init)', null);
    writeFileSync(paths.adminToken, token + '\n', { mode: 0o600 });
  } finally {
    await app.close();
  }
  return { created: true, dataDir: paths.root };
}
