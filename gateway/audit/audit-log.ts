// The audit log: append-only and hash-chained. Each row's hash is
//   sha256(prev_hash + "\n" + canonicalJson({seq, ts, code, actor, data}))
// so editing a row breaks its own hash, deleting one breaks the next row's prev_hash and the seq run,
// and reordering breaks both. Truncating the tail is invisible to the chain alone: compare the head
// (`verify` reports it) against a copy kept elsewhere, e.g. the last exported line.
import type { AuditRow } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { sha256Hex } from '../util/ids.js';
import { canonicalJson } from './canonical-json.js';
import type { AuditCode, AuditEventMap } from './events.js';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEntry<C extends AuditCode = AuditCode> {
  seq: number;
  ts: number;
  code: C;
  actor: string;
  data: AuditEventMap[C];
  hash: string;
}

export function rowHash(prevHash: string, row: Pick<AuditRow, 'seq' | 'ts' | 'code' | 'actor'> & { data: unknown }): string {
  return sha256Hex(prevHash + '\n' + canonicalJson({ seq: row.seq, ts: row.ts, code: row.code, actor: row.actor, data: row.data }));
}

/** Told about an append that nobody awaited (see `record`) and that failed. */
export type AuditFailureHook = (code: AuditCode, err: unknown) => void;

export class AuditLog {
  constructor(private readonly store: Store, private readonly clock: Clock, private readonly onFailure: AuditFailureHook = () => undefined) {}

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
      return { seq, ts, code, actor, data: json, prevHash, hash: rowHash(prevHash, { seq, ts, code, actor, data }) };
    });
    return { seq: row.seq, ts: row.ts, code, actor, data, hash: row.hash };
  }

  /**
   * Appends without waiting, for callers that cannot (socket and timer callbacks). The entry keeps
   * its place in call order all the same; a failure goes to the failure hook instead of the caller.
   */
  record<C extends AuditCode>(code: C, actor: string, data: AuditEventMap[C]): void {
    this.append(code, actor, data).catch((err: unknown) => this.onFailure(code, err));
  }

  /** Recomputes the whole chain (see verifyChain). */
  verify(): Promise<VerifyResult> {
    return verifyChain(this.store);
  }

  async page(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    return (await this.store.audit.page(afterSeq, limit)).map(toEntry);
  }
}

export function toEntry(r: AuditRow): AuditEntry {
  return { seq: r.seq, ts: r.ts, code: r.code as AuditCode, actor: r.actor, data: JSON.parse(r.data) as AuditEventMap[AuditCode], hash: r.hash };
}

export type VerifyResult =
  | { ok: true; entries: number; head: string }
  | { ok: false; entries: number; firstBadSeq: number; problem: 'hash-mismatch' | 'broken-link' | 'sequence-gap' | 'unparseable' };

/** Recomputes the whole chain in pages; names the first entry that does not fit. */
export async function verifyChain(store: Store, pageSize = 5000): Promise<VerifyResult> {
  let prevHash = GENESIS_HASH;
  let expectSeq = 1;
  let after = 0;
  let count = 0;
  for (;;) {
    const rows = await store.audit.page(after, pageSize);
    if (rows.length === 0) break;
    for (const r of rows) {
      if (r.seq !== expectSeq) return { ok: false, entries: count, firstBadSeq: r.seq, problem: 'sequence-gap' };
      if (r.prevHash !== prevHash) return { ok: false, entries: count, firstBadSeq: r.seq, problem: 'broken-link' };
      let data: unknown;
      try {
        data = JSON.parse(r.data);
      } catch {
        return { ok: false, entries: count, firstBadSeq: r.seq, problem: 'unparseable' };
      }
      if (rowHash(prevHash, { ...r, data }) !== r.hash) {
        return { ok: false, entries: count, firstBadSeq: r.seq, problem: 'hash-mismatch' };
      }
      prevHash = r.hash;
      expectSeq++;
      count++;
      after = r.seq;
    }
  }
  return { ok: true, entries: count, head: prevHash };
}
