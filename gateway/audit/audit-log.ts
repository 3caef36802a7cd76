// The audit log: append-only and chained (chain.ts). Each row's link covers the previous row's link
// and its own canonical JSON, so editing a row breaks its own link, deleting one breaks the next
// row's prev_hash and the seq run, and reordering breaks both. From `keyedFrom` on the links are
// HMACs under the audit key (audit-key.ts), so only a holder of the master key can make them;
// signed checkpoints outside the database (checkpoints.ts) catch a truncation of the tail and
// pin where keying began. `verify` (verify.ts) checks all of it. This module touches no file: the
// audit key comes in (audit-key.ts), checkpoints are written elsewhere (checkpoints.ts).
import type { AuditRow } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { AuditKey } from './audit-key.js';
import { canonicalJson } from './canonical-json.js';
import { GENESIS_HASH, keyedHash, linkFor, plainHash } from './chain.js';
import type { AuditCode, AuditEventMap } from './events.js';
import { type VerifyResult, type VerifySources, verifyAudit } from './verify.js';

export { GENESIS_HASH };
export type { VerifyResult };

export interface AuditEntry<C extends AuditCode = AuditCode> {
  seq: number;
  ts: number;
  code: C;
  actor: string;
  data: AuditEventMap[C];
  hash: string;
}

/** Told about an append that nobody awaited (see `record`) and that failed. */
export type AuditFailureHook = (code: AuditCode, err: unknown) => void;

export interface AuditLogOptions {
  /** Told about an append nobody awaited that failed, and about audit.key failing to persist. */
  onFailure?: AuditFailureHook;
  /** Writes audit.key once keyedFrom is fixed (sealed by the vault; app.ts wires it). */
  persistKey?: () => void;
  /** Where verify finds the checkpoints and the key to check them with. */
  checkpoints?: Omit<VerifySources, 'store' | 'key'>;
}

export class AuditLog {
  private readonly onFailure: AuditFailureHook;

  constructor(private readonly store: Store, private readonly clock: Clock, readonly key: AuditKey, private readonly opts: AuditLogOptions = {}) {
    this.onFailure = opts.onFailure ?? (() => undefined);
  }

  /**
   * Appends one entry. The store serializes appends (head read + insert are one atomic step), so
   * concurrent appends from anywhere form one chain, in the order they were called on this node.
   * Inside a store transaction the entry commits or rolls back with it.
   */
  async append<C extends AuditCode>(code: C, actor: string, data: AuditEventMap[C]): Promise<AuditEntry<C>> {
    const json = canonicalJson(data);
    const row = await this.store.audit.append((last) => {
      const seq = (last?.seq ?? 0) + 1;
      // Taken at append time, under the store's serialization, so ts never goes back along the chain.
      const ts = this.clock.now();
      const prevHash = last?.hash ?? GENESIS_HASH;
      // Normally fixed at start from the files; else this is the first entry keyed. A rollback of
      // this entry's transaction leaves the head where it was, so the next append gets this seq.
      const keyedFrom = this.key.fix(seq);
      return { seq, ts, code, actor, data: json, prevHash, hash: linkFor(this.key.key, keyedFrom, prevHash, { seq, ts, code, actor, data }) };
    });
    if (!this.key.persisted && this.opts.persistKey) {
      try {
        this.opts.persistKey();
      } catch (err) {
        this.onFailure(code, err);
      }
    }
    return { seq: row.seq, ts: row.ts, code, actor, data, hash: row.hash };
  }

  /**
   * Appends without waiting, for callers that cannot (socket and timer callbacks). The entry keeps
   * its place in call order all the same; a failure goes to the failure hook instead of the caller.
   */
  record<C extends AuditCode>(code: C, actor: string, data: AuditEventMap[C]): void {
    this.append(code, actor, data).catch((err: unknown) => this.onFailure(code, err));
  }

  /** Checks the chain against the checkpoints (see verify.ts). */
  verify(): Promise<VerifyResult> {
    const cp = this.opts.checkpoints ?? { checkpoints: null, verifyKey: null, signingKeyText: null };
    return verifyAudit({ store: this.store, key: this.key, ...cp });
  }

  async page(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    return (await this.store.audit.page(afterSeq, limit)).map(toEntry);
  }
}

export function toEntry(r: AuditRow): AuditEntry {
  return { seq: r.seq, ts: r.ts, code: r.code as AuditCode, actor: r.actor, data: JSON.parse(r.data) as AuditEventMap[AuditCode], hash: r.hash };
}

/**
 * Where keying began when nothing recorded it: a crash after the first keyed entry and before
 * audit.key was written. Only scans when the head itself is keyed; null when it is not.
 */
export async function findKeyedStart(store: Store, key: Buffer, pageSize = 5000): Promise<number | null> {
  const head = await store.audit.last();
  if (!head) return null;
  try {
    const data: unknown = JSON.parse(head.data);
    if (head.hash !== keyedHash(key, head.prevHash, { seq: head.seq, ts: head.ts, code: head.code, actor: head.actor, data })) return null;
  } catch {
    return null;
  }
  let prev = GENESIS_HASH;
  for (let after = 0; ;) {
    const rows = await store.audit.page(after, pageSize);
    if (rows.length === 0) return null;
    for (const r of rows) {
      let data: unknown;
      try {
        data = JSON.parse(r.data);
      } catch {
        return null;
      }
      const f = { seq: r.seq, ts: r.ts, code: r.code, actor: r.actor, data };
      if (r.hash !== plainHash(prev, f) && r.hash === keyedHash(key, prev, f)) return r.seq;
      prev = r.hash;
      after = r.seq;
    }
  }
}
