// The audit key: the HMAC key of the keyed chain (chain.ts), and `keyedFrom`, the first seq it
// covers (entries before keep their plain SHA-256 links: logs from before keying migrate as they are).
//
// Where it lives, and why it survives `vault rotate-key`: the key is derived once, with HKDF from the
// master key and a fixed label, and kept in `<data>/audit.key` sealed by the vault (AES-256-GCM,
// AAD binding keyedFrom) — outside the database, so a database writer never sees it. A rotation
// re-seals this file under the new master key (CredentialVault's reseal hook) rather than deriving a
// new audit key, so one key covers the whole chain and the old chain stays verifiable after the old
// master key is deleted. Nodes sharing a master key derive the same audit key; after a rotation,
// copy audit.key with master.key to a new node.
//
// keyedFrom is fixed once: from this file, else from the first signed checkpoint, else as
// "the next seq" at the first keyed append (audit-log.ts). It does not sign checkpoints
// (checkpoint-signer.ts) or decide when to write them (checkpoints.ts).
import { createHmac, hkdfSync } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PortcullisError } from '../util/errors.js';
import type { Vault } from '../vault/vault.js';

const LABEL = 'portcullis audit chain key v1';
const MAX_FILE_BYTES = 4096;

export function auditKeyPath(dataDir: string): string {
  return join(dataDir, 'audit.key');
}

/** The audit key for a master key (HKDF-SHA-256, no salt: the master key is 32 random bytes). */
export function deriveAuditKey(master: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), LABEL, 32));
}

/** A short public name for a key: checkpoints carry it, so a swapped key is named as such. */
export function auditKeyId(key: Buffer): string {
  return createHmac('sha256', key).update('portcullis audit key id').digest('hex').slice(0, 16);
}

function aad(keyedFrom: number | null): string {
  return `audit-key:${keyedFrom ?? 'unfixed'}`;
}

interface KeyFile {
  v: 1;
  keyedFrom: number | null;
  sealed: string;
}

function parseKeyFile(text: string, file: string): KeyFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new PortcullisError('internal', `${file} is not valid JSON`);
  }
  const o = raw as Partial<KeyFile> | null;
  const kf = o?.keyedFrom;
  if (!o || o.v !== 1 || typeof o.sealed !== 'string' || !(kf === null || (Number.isSafeInteger(kf) && (kf as number) >= 1))) {
    throw new PortcullisError('internal', `${file} is not an audit key file`);
  }
  return { v: 1, keyedFrom: kf ?? null, sealed: o.sealed };
}

export class AuditKey {
  private written: number | null | undefined;

  private constructor(
    readonly key: Buffer,
    private from: number | null,
    private readonly file: string | null,
    /** Whether the key came from audit.key (false: derived now from the current master key). */
    readonly fromFile: boolean,
  ) {
    this.written = fromFile ? from : undefined;
  }

  /**
   * Opens `<data>/audit.key`, or derives the key from `master` when there is none yet (nothing is
   * written until `persist`). A file that does not open under the vault's keys is an error: a chain
   * appended under a different key would never verify.
   */
  static load(dataDir: string, vault: Vault, master: Buffer): AuditKey {
    const file = auditKeyPath(dataDir);
    if (!existsSync(file)) return new AuditKey(deriveAuditKey(master), null, file, false);
    const text = readFileSync(file, 'utf8');
    if (text.length > MAX_FILE_BYTES) throw new PortcullisError('internal', `${file} is too large to be an audit key file`);
    const f = parseKeyFile(text, file);
    let key: Buffer;
    try {
      key = vault.open(f.sealed, aad(f.keyedFrom));
    } catch {
      throw new PortcullisError('internal', `${file} does not open with the master key (replaced, edited, or sealed under a key this node does not hold)`);
    }
    if (key.length !== 32) throw new PortcullisError('internal', `${file} does not hold a 32-byte key`);
    return new AuditKey(key, f.keyedFrom, file, true);
  }

  /** For tests and tools: a key in memory only. */
  static inMemory(key: Buffer, keyedFrom: number | null): AuditKey {
    return new AuditKey(key, keyedFrom, null, false);
  }

  get keyId(): string {
    return auditKeyId(this.key);
  }

  get keyedFrom(): number | null {
    return this.from;
  }

  /** Fixes where keying begins, once; later calls keep the first value. Returns the fixed value. */
  fix(seq: number): number {
    this.from ??= seq;
    return this.from;
  }

  /** Whether audit.key on disk already says what this object knows. */
  get persisted(): boolean {
    return this.file === null || this.written === this.from;
  }

  /** Writes audit.key sealed under the vault's primary key (write, fsync, rename, fsync dir). */
  persist(vault: Vault): void {
    if (!this.file) return;
    const f: KeyFile = { v: 1, keyedFrom: this.from, sealed: vault.seal(this.key, aad(this.from)) };
    const tmp = this.file + '.tmp';
    writeFileSync(tmp, JSON.stringify(f) + '\n', { mode: 0o600 });
    fsyncPath(tmp);
    renameSync(tmp, this.file);
    fsyncPath(dirname(this.file));
    this.written = this.from;
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
