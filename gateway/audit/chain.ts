// How one audit row is linked to the one before it. Two link kinds:
// - plain (entries written before keying began, kept as they were):
//     sha256(prev_hash + "\n" + canonicalJson({seq, ts, code, actor, data}))
// - keyed (every entry from `keyedFrom` on):
//     HMAC-SHA-256(auditKey, "portcullis-audit-v2\n" + prev_hash + "\n" + canonicalJson(...))
// Anyone can recompute a plain link, so a plain chain only shows accidents; a keyed link can only be
// made by whoever holds the audit key (derived from the master key, never in the database), so
// someone who can write the database but not read the key cannot forge an entry, recompute the
// chain after an edit, or splice rows. The domain prefix keeps a keyed link from ever equalling a
// plain one for the same row. This module is pure: no store, no files.
import { createHmac } from 'node:crypto';
import { sha256Hex } from '../util/ids.js';
import { canonicalJson } from './canonical-json.js';

export const GENESIS_HASH = '0'.repeat(64);

const KEYED_PREFIX = 'portcullis-audit-v2\n';

export interface LinkedFields {
  seq: number;
  ts: number;
  code: string;
  actor: string;
  /** The parsed data object (canonicalized here, so key order never matters). */
  data: unknown;
}

function body(prevHash: string, row: LinkedFields): string {
  return prevHash + '\n' + canonicalJson({ seq: row.seq, ts: row.ts, code: row.code, actor: row.actor, data: row.data });
}

/** The plain SHA-256 link of entries written before keying began. */
export function plainHash(prevHash: string, row: LinkedFields): string {
  return sha256Hex(body(prevHash, row));
}

/** The keyed link (HMAC-SHA-256 under the audit key). */
export function keyedHash(key: Buffer, prevHash: string, row: LinkedFields): string {
  return createHmac('sha256', key).update(KEYED_PREFIX + body(prevHash, row)).digest('hex');
}

/** The link an entry at `row.seq` must carry, given where keying began. */
export function linkFor(key: Buffer, keyedFrom: number, prevHash: string, row: LinkedFields): string {
  return row.seq >= keyedFrom ? keyedHash(key, prevHash, row) : plainHash(prevHash, row);
}
