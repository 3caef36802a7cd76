// `audit verify` without a running gateway (DESIGN §3: it may open the store directly): opens the
// store, the master key (for the audit key) and the checkpoint files of a data dir, and verifies.
// Writes nothing: a data dir that never started keying is reported as such, not migrated.
// Checkpoints may come from another file (a copy collected from the webhooks) so a checkpoint file
// cut or removed on the gateway host is no hiding place.
import { existsSync } from 'node:fs';
import { dataPaths } from '../config/data-dir.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { loadMasterKeys } from '../vault/master-key.js';
import { Vault } from '../vault/vault.js';
import { PortcullisError } from '../util/errors.js';
import { AuditKey } from './audit-key.js';
import { auditFiles, loadVerifyKey, publicKeyText, readLines } from './checkpoint-file.js';
import { type VerifyResult, verifyAudit } from './verify.js';

export async function verifyDataDir(dir: string, env: NodeJS.ProcessEnv, opts: { checkpointsFile?: string | undefined } = {}): Promise<VerifyResult> {
  const paths = dataPaths(dir);
  if (!existsSync(paths.store)) throw new PortcullisError('not-found', `no store at ${paths.store}`);
  const keys = loadMasterKeys(paths.root, env);
  const key = AuditKey.load(paths.root, new Vault(keys.keys), keys.keys[0]!);
  const files = auditFiles(paths.root);
  const cpFile = opts.checkpointsFile ?? files.checkpoints;
  if (opts.checkpointsFile && !existsSync(cpFile)) throw new PortcullisError('not-found', `no checkpoint file at ${cpFile}`);
  const verifyKey = loadVerifyKey(files);
  const store = openSqliteStore(paths.store);
  try {
    return await verifyAudit({
      store, key, checkpoints: existsSync(cpFile) ? () => readLines(cpFile) : null, verifyKey, signingKeyText: verifyKey && publicKeyText(verifyKey),
    });
  } finally {
    await store.close();
  }
}
