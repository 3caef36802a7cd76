// The files every node of a cluster must hold identically, kept in `store.meta`, each sealed by the
// vault under an associated data naming the file (so a database writer can neither read them nor
// swap one for another): the CA certificate and key (clients verify every node's listener
// certificate against one CA), the SSH host key (clients behind a load balancer must see one host
// key), and audit.key (one audit chain, keyed from the same seq, on every node, also after the
// master key that derived it is gone), and the SSH user CA (a certificate from one node logs in on every node).
// The first writer wins: `publish` stores what this node has unless the store has one already, and
// both directions leave the data dir holding what the store holds.
// It does not create the files (init does: certs/, ssh/host-key.ts, the audit log) or check the
// master key (master-key-check.ts).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { certPaths } from '../../certs/ca.js';
import { writeFileAtomic } from '../../recorder/atomic-file.js';
import { auditKeyPath } from '../audit/audit-key.js';
import { dataPaths } from '../config/data-dir.js';
import { userCaPath } from '../ssh/certs/user-ca.js';
import type { Store } from '../store/store.js';
import { PortcullisError } from '../util/errors.js';
import type { Vault } from '../vault/vault.js';

export type SharedFileName = 'ca.crt' | 'ca.key' | 'ssh_host_ed25519_key' | 'ssh_host_ed25519_key.pub' | 'audit.key' | 'ssh_user_ca.key';

interface SharedFile {
  name: SharedFileName;
  path(root: string): string;
  mode: number;
}

export const SHARED_FILES: readonly SharedFile[] = [
  { name: 'ca.crt', path: (r) => certPaths(r).caCert, mode: 0o644 },
  { name: 'ca.key', path: (r) => certPaths(r).caKey, mode: 0o600 },
  { name: 'ssh_host_ed25519_key', path: (r) => dataPaths(r).hostKey, mode: 0o600 },
  { name: 'ssh_host_ed25519_key.pub', path: (r) => dataPaths(r).hostKey + '.pub', mode: 0o644 },
  { name: 'audit.key', path: (r) => auditKeyPath(r), mode: 0o600 },
  { name: 'ssh_user_ca.key', path: (r) => userCaPath(r), mode: 0o600 },
];

export function sharedFileKey(name: SharedFileName): string {
  return `cluster.file.${name}`;
}

function aad(name: SharedFileName): string {
  return `portcullis-cluster:file:${name}`;
}

function select(names: readonly SharedFileName[] | undefined): readonly SharedFile[] {
  return names === undefined ? SHARED_FILES : SHARED_FILES.filter((f) => names.includes(f.name));
}

function open(vault: Vault, f: SharedFile, sealed: string): Buffer {
  try {
    return vault.open(sealed, aad(f.name), 'v2');
  } catch {
    // The check value opened (callers check it first), so this one was replaced or damaged in the store.
    throw new PortcullisError('internal', `the cluster's shared ${f.name} in the store does not open with the master key (replaced or damaged): restore it from the first node's data dir`);
  }
}

function writeLocal(root: string, f: SharedFile, content: Buffer): boolean {
  const path = f.path(root);
  if (existsSync(path) && readFileSync(path).equals(content)) return false;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileAtomic(path, content, f.mode);
  return true;
}

/** Writes into the data dir every shared file the store holds. Returns the names written (changed or new). */
export async function pullSharedFiles(store: Store, vault: Vault, root: string, names?: readonly SharedFileName[]): Promise<SharedFileName[]> {
  const written: SharedFileName[] = [];
  for (const f of select(names)) {
    const sealed = await store.meta.get(sharedFileKey(f.name));
    if (sealed === undefined) continue;
    const content = open(vault, f, sealed);
    if (writeLocal(root, f, content)) written.push(f.name);
    content.fill(0);
  }
  return written;
}

/**
 * Offers this node's files to the store (each one unless the store has it: the first writer wins),
 * then makes the data dir hold what the store holds. Returns the names whose local copy was replaced
 * (another node published first).
 */
export async function publishSharedFiles(store: Store, vault: Vault, root: string, names?: readonly SharedFileName[]): Promise<SharedFileName[]> {
  const replaced: SharedFileName[] = [];
  for (const f of select(names)) {
    const path = f.path(root);
    if (!existsSync(path)) continue;
    const mine = readFileSync(path);
    const stored = await store.meta.putIfAbsent(sharedFileKey(f.name), vault.seal(mine, aad(f.name), 'v2'));
    const content = open(vault, f, stored);
    if (writeLocal(root, f, content)) replaced.push(f.name);
    content.fill(0);
    mine.fill(0);
  }
  return replaced;
}

/** For tools and tests: the data-dir path of a shared file. */
export function sharedFilePath(root: string, name: SharedFileName): string {
  const f = SHARED_FILES.find((x) => x.name === name);
  return f ? f.path(root) : join(root, name);
}
