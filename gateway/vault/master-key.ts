// Where the master key lives: PORTCULLIS_MASTER_KEY (base64 or hex of 32 bytes) or the file
// `master.key` in the data dir (mode 0600). During a rotation the new key is first written beside
// the old one as `master.key.new`; loading both makes a crash half-way through recoverable. The
// previous key is copied to `master.key.old` before the swap and removed once the rotation is
// verified (credential-vault.ts), unless the admin asked to keep it.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PortcullisError } from '../util/errors.js';

export interface KeySource {
  keys: Buffer[];
  /** The file the primary key lives in, or null when it comes from the environment. */
  file: string | null;
}

export function masterKeyPath(dataDir: string): string {
  return join(dataDir, 'master.key');
}

export function createMasterKeyFile(dataDir: string): void {
  const file = masterKeyPath(dataDir);
  if (existsSync(file)) return;
  writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
}

export function decodeKey(text: string, where: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) {
    throw new PortcullisError('bad-request', `master key in ${where} must be 32 bytes (base64 or hex)`);
  }
  return key;
}

export function loadMasterKeys(dataDir: string, env: NodeJS.ProcessEnv): KeySource {
  const fromEnv = env.PORTCULLIS_MASTER_KEY;
  if (fromEnv) return { keys: [decodeKey(fromEnv, 'PORTCULLIS_MASTER_KEY')], file: null };
  const file = masterKeyPath(dataDir);
  if (!existsSync(file)) {
    throw new PortcullisError('not-found', `no master key at ${file}; run "portcullis init --data ${dataDir}" first`);
  }
  const keys = [decodeKey(readFileSync(file, 'utf8'), file)];
  if (existsSync(file + '.new')) keys.push(decodeKey(readFileSync(file + '.new', 'utf8'), file + '.new'));
  return { keys, file };
}

/** The key an interrupted rotation left in `master.key.new`, if any. */
export function readStagedKey(file: string): Buffer | null {
  return existsSync(file + '.new') ? readKeyFile(file + '.new') : null;
}

export function stageNewKey(file: string, key: Buffer): void {
  writeFileSync(file + '.new', key.toString('base64') + '\n', { mode: 0o600 });
}

export function readKeyFile(file: string): Buffer {
  return decodeKey(readFileSync(file, 'utf8'), file);
}

export function commitNewKey(file: string): void {
  // Copy, then one atomic rename: at every instant master.key holds a key the store opens with
  // (a crash between two renames used to leave no master.key at all).
  writeFileSync(file + '.old', readFileSync(file), { mode: 0o600 });
  renameSync(file + '.new', file);
}

/** After a verified rotation: the previous key is no longer needed by the store. */
export function removeOldKey(file: string): void {
  rmSync(file + '.old', { force: true });
}

export function discardNewKey(file: string): void {
  rmSync(file + '.new', { force: true });
}
