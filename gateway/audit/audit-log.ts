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

export class AuditLog {
  constructor(private readonly store: Store, private readonly clock: Clock) {}

  append<C extends AuditCode>(code: C, actor: string, data: AuditEventMap[C]): AuditEntry<C> {
    return this.store.transaction(() => {
      const last = this.store.audit.last();
      const seq = (last?.seq ?? 0) + 1;
      const ts = this.clock.now();
      const prevHash = last?.hash ?? GENESIS_HASH;
      const hash = rowHash(prevHash, { seq, ts, code, actor, data });
      this.store.audit.insert({ seq, ts, code, actor, data: canonicalJson(data), prevHash, hash });
      return { seq, ts, code, actor, data, hash };
    });
  }

  page(afterSeq: number, limit: number): AuditEntry[] {
    return this.store.audit.page(afterSeq, limit).map(toEntry);
  }
}

export function toEntry(r: AuditRow): AuditEntry {
  return { seq: r.seq, ts: r.ts, code: r.code as AuditCode, actor: r.actor, data: JSON.parse(r.data) as AuditEventMap[AuditCode], hash: r.hash };
}

export type VerifyResult =
  | { ok: true; entries: number; head: string }
  | { ok: false; entries: number; firstBadSeq: number; problem: 'hash-mismatch' | 'broken-link' | 'sequence-gap' | 'unparseable' };

/** Recomputes the whole chain in pages; names the first entry that does not fit. */
export function verifyChain(store: Store, pageSize = 5000): VerifyResult {
  let prevHash = GENESIS_HASH;
  let expectSeq = 1;
  let after = 0;
  let count = 0;
  for (;;) {
    const rows = store.audit.page(after, pageSize);
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
