// `audit verify`: checks the signed checkpoint file, then walks the chain in the store against it.
// Detects, and names the first bad entry (seq) and why: an edited entry, a deleted one, a
// reordering, a recomputation of the links by someone without the audit key (plain SHA-256 or a
// wrong HMAC key), a rewrite of the pre-keying part, the keying boundary moved, a truncation behind
// the last checkpoint (the file says seq N, the store has fewer), a checkpoint line that is forged,
// edited, dropped or reordered.
// Cannot detect, by design: entries removed after the last checkpoint (at most one interval's worth
// while serve runs: `uncovered` says how many entries no checkpoint covers yet), or the checkpoint
// file removed or cut together with the store (that is why every checkpoint also goes to the
// webhooks, and why verify accepts such a copy with --checkpoints). Two passes over the file, one
// over the store; memory stays flat however long either is.
import type { KeyObject } from 'node:crypto';
import type { Store } from '../store/store.js';
import type { AuditKey } from './audit-key.js';
import { canonicalJson } from './canonical-json.js';
import { GENESIS_HASH, keyedHash, plainHash } from './chain.js';
import { type Checkpoint, FIRST_PREV, lineDigest, parseCheckpoint } from './checkpoint-format.js';

export type VerifyProblem =
  | 'hash-mismatch' | 'broken-link' | 'sequence-gap' | 'unparseable' | 'truncated' | 'checkpoint-mismatch'
  | 'checkpoint-invalid' | 'checkpoint-bad-signature' | 'boundary-mismatch' | 'key-mismatch';

export interface CheckpointSummary { n: number; seq: number; at: string; node: string }

export type VerifyResult =
  | {
    ok: true; entries: number; head: string;
    /** First seq with a keyed link; null while the chain has none (not keyed yet). */
    keyedFrom: number | null;
    checkpoints: number; lastCheckpoint: CheckpointSummary | null;
    /** Newest entries no checkpoint covers yet: removing them would go unseen. */
    uncovered: number;
    /** The Ed25519 public key the checkpoints were checked with (raw, base64). */
    signingKey: string | null;
    notes: string[];
  }
  | {
    ok: false; entries: number; firstBadSeq: number | null; problem: VerifyProblem; detail: string;
    /** The checkpoint line (1-based) a checkpoint problem is in. */
    checkpointLine?: number;
  };

export type Lines = () => AsyncIterable<{ text: string; torn: boolean }>;

export interface VerifySources {
  store: Store;
  key: AuditKey;
  /** The checkpoint file's lines (read twice), or null when there is none. */
  checkpoints: Lines | null;
  verifyKey: KeyObject | null;
  signingKeyText: string | null;
  pageSize?: number;
}

type Bad = Extract<VerifyResult, { ok: false }>;

interface FileCheck { count: number; first: Checkpoint | null; last: { cp: Checkpoint; line: number } | null; notes: string[] }

/** Pass 1: every line parses, is signed, follows the one before it, and agrees on boundary and key. */
async function checkFile(lines: Lines, key: KeyObject | null): Promise<FileCheck | Bad> {
  const bad = (line: number, problem: VerifyProblem, detail: string): Bad => ({ ok: false, entries: 0, firstBadSeq: null, problem, detail, checkpointLine: line });
  const out: FileCheck = { count: 0, first: null, last: null, notes: [] };
  let prev = FIRST_PREV;
  let i = 0;
  for await (const { text, torn } of lines()) {
    i++;
    if (torn) {
      out.notes.push(`checkpoint line ${i} has no newline (a write cut by a crash); ignored`);
      break;
    }
    if (!key) return bad(i, 'checkpoint-bad-signature', 'there is no audit signing key (audit-signing.key or .pub) to check the checkpoints with');
    const p = parseCheckpoint(text, key);
    if (!p.ok) return bad(i, p.why === 'bad signature' ? 'checkpoint-bad-signature' : 'checkpoint-invalid', `checkpoint line ${i}: ${p.why}`);
    const cp = p.cp;
    if (cp.n !== i) return bad(i, 'checkpoint-invalid', `checkpoint line ${i} is numbered ${cp.n}: lines were removed or reordered`);
    if (cp.prev !== prev) return bad(i, 'checkpoint-invalid', `checkpoint line ${i} does not follow line ${i - 1}: lines were removed, reordered or edited`);
    if (out.last && cp.seq < out.last.cp.seq) return bad(i, 'checkpoint-invalid', `checkpoint line ${i} goes back to seq ${cp.seq}`);
    if (out.first && (cp.keyedFrom !== out.first.keyedFrom || cp.keyId !== out.first.keyId)) {
      return bad(i, 'checkpoint-invalid', `checkpoint line ${i} names another keying boundary or key than line 1`);
    }
    if (cp.seq === 0 && cp.hash !== GENESIS_HASH) return bad(i, 'checkpoint-invalid', `checkpoint line ${i} gives an empty log a hash`);
    out.first ??= cp;
    out.last = { cp, line: i };
    out.count = i;
    prev = lineDigest(text);
  }
  return out;
}

export async function verifyAudit(src: VerifySources): Promise<VerifyResult> {
  const file = src.checkpoints ? await checkFile(src.checkpoints, src.verifyKey) : { count: 0, first: null, last: null, notes: [] };
  if ('ok' in file) return file;
  const notes = [...file.notes];
  const fileFrom = src.key.keyedFrom;
  const cpFrom = file.first?.keyedFrom ?? null;
  if (fileFrom !== null && cpFrom !== null && fileFrom !== cpFrom) {
    return { ok: false, entries: 0, firstBadSeq: Math.min(fileFrom, cpFrom), problem: 'boundary-mismatch',
      detail: `the first checkpoint says keying began at seq ${cpFrom}, audit.key says ${fileFrom}` };
  }
  if (file.first && file.first.keyId !== src.key.keyId) {
    return { ok: false, entries: 0, firstBadSeq: file.first.keyedFrom, problem: 'key-mismatch',
      detail: `the checkpoints were made with audit key ${file.first.keyId}, this node has ${src.key.keyId} (audit.key missing or replaced, or another master key)` };
  }
  // No recorded boundary (a data dir that never started keying, or both files gone): the first
  // entry whose link is keyed starts the keyed part, and the result says the boundary was found.
  let keyedFrom: number | null = cpFrom ?? fileFrom;
  const found = keyedFrom === null;
  if (found) notes.push('no signed checkpoint and no audit.key: the keying boundary is not recorded (start the gateway once to record it)');
  if (!file.first) notes.push('no checkpoints: a truncation of the newest entries cannot be detected');

  const cps = src.checkpoints && file.count > 0 ? checkpointsInOrder(src.checkpoints, src.verifyKey!) : null;
  let nextCp = cps ? await cps.next() : null;
  let prevHash = GENESIS_HASH;
  let expectSeq = 1;
  let count = 0;
  const bad = (seq: number, problem: VerifyProblem, detail: string): Bad => ({ ok: false, entries: count, firstBadSeq: seq, problem, detail });
  const matchCheckpoint = async (seq: number, hash: string): Promise<Bad | null> => {
    while (nextCp && !nextCp.done && nextCp.value.seq <= seq) {
      const cp = nextCp.value;
      if (cp.seq === seq && cp.hash !== hash) {
        return bad(seq, 'checkpoint-mismatch', `checkpoint line ${cp.n} (${new Date(cp.at).toISOString()}) recorded another hash for seq ${seq}: the chain up to here was rewritten`);
      }
      nextCp = await cps!.next();
    }
    return null;
  };
  // Checkpoints of the empty log (seq 0) come before any entry.
  const atGenesis = await matchCheckpoint(0, GENESIS_HASH);
  if (atGenesis) return atGenesis;
  for (let after = 0; ;) {
    const rows = await src.store.audit.page(after, src.pageSize ?? 5000);
    if (rows.length === 0) break;
    for (const r of rows) {
      if (r.seq !== expectSeq) return bad(r.seq, 'sequence-gap', `expected seq ${expectSeq} next, found ${r.seq}: entries were deleted or renumbered`);
      if (r.prevHash !== prevHash) return bad(r.seq, 'broken-link', 'its prev_hash is not the hash of the entry before it: an entry before it was deleted, or entries were reordered');
      let data: unknown;
      try {
        data = JSON.parse(r.data);
      } catch {
        return bad(r.seq, 'unparseable', 'its data is not JSON');
      }
      const fields = { seq: r.seq, ts: r.ts, code: r.code, actor: r.actor, data };
      const plain = plainHash(prevHash, fields);
      if (found && keyedFrom === null && r.hash !== plain && r.hash === keyedHash(src.key.key, prevHash, fields)) keyedFrom = r.seq;
      if (keyedFrom !== null && r.seq >= keyedFrom) {
        // Keyed entries are stored as the canonical JSON the link covers (audit-log.ts). Other text
        // that parses to the same value (duplicate keys: SQLite's json_extract reads the first,
        // JSON.parse the last) would verify while showing another value to anyone querying SQL.
        if (r.data !== canonicalJson(data)) {
          return bad(r.seq, 'hash-mismatch', 'its stored data is not the canonical JSON its link covers: the entry was edited');
        }
        if (r.hash !== keyedHash(src.key.key, prevHash, fields)) {
          return bad(r.seq, 'hash-mismatch', r.hash === plain
            ? `its link is plain SHA-256 where the audit key is required (from seq ${keyedFrom}): the chain was recomputed without the key`
            : 'its link was not made with the audit key: the entry was edited, or the chain recomputed with another key');
        }
      } else if (r.hash !== plain) {
        return bad(r.seq, 'hash-mismatch', 'its plain SHA-256 link (an entry from before keying) does not match: the entry was edited');
      }
      const cpBad = await matchCheckpoint(r.seq, r.hash);
      if (cpBad) return cpBad;
      prevHash = r.hash;
      expectSeq++;
      count++;
      after = r.seq;
    }
  }
  const last = file.last;
  if (last && last.cp.seq > count) {
    return { ok: false, entries: count, firstBadSeq: count + 1, problem: 'truncated',
      detail: `checkpoint line ${last.line} (${new Date(last.cp.at).toISOString()}, node ${last.cp.node}) says the log reached seq ${last.cp.seq}; the store ends at seq ${count}: the newest entries were removed`,
      checkpointLine: last.line };
  }
  if (keyedFrom === null && count > 0) notes.push('no entry is keyed yet: every link is plain SHA-256, which anyone can recompute');
  return {
    ok: true, entries: count, head: prevHash, keyedFrom,
    checkpoints: file.count, lastCheckpoint: last ? { n: last.cp.n, seq: last.cp.seq, at: new Date(last.cp.at).toISOString(), node: last.cp.node } : null,
    uncovered: count - (last?.cp.seq ?? 0), signingKey: src.signingKeyText, notes,
  };
}

/** Pass 2: the (already checked) checkpoints again, one at a time. */
async function* checkpointsInOrder(lines: Lines, key: KeyObject): AsyncGenerator<Checkpoint> {
  for await (const { text, torn } of lines()) {
    if (torn) return;
    const p = parseCheckpoint(text, key);
    if (p.ok) yield p.cp;
  }
}
