// Signed checkpoints of the audit chain's head: the format, signing and checking of one line.
// A checkpoint says "on node N at time T the chain reached seq S with hash H; keying began at K with
// key id I". Each line also names the SHA-256 of the line before it (`prev`) and its own number
// (`n`), so lines cannot be dropped or reordered inside the file without the check failing.
// Signed with Ed25519 (node:crypto) under the gateway's audit signing key (checkpoint-file.ts).
// Pure: no files, no clock. Every parse has limits (line length, field types and ranges).
import { type KeyObject, sign, verify } from 'node:crypto';
import { sha256Hex } from '../util/ids.js';
import { canonicalJson } from './canonical-json.js';
import { GENESIS_HASH } from './chain.js';

/** No line the gateway writes comes near this; anything longer is not a checkpoint. */
export const MAX_CHECKPOINT_LINE = 2048;

const SIGNED_PREFIX = 'portcullis-audit-checkpoint-v1\n';

export type CheckpointReason = 'keying-began' | 'start' | 'schedule' | 'shutdown';

export interface CheckpointBody {
  v: 1;
  /** 1 for the first line of the file, then +1 per line. */
  n: number;
  seq: number;
  hash: string;
  /** Gateway clock, ms since the epoch. */
  at: number;
  node: string;
  keyedFrom: number;
  keyId: string;
  reason: CheckpointReason;
  /** SHA-256 of the previous line's text (without its newline); zeros for the first. */
  prev: string;
}

export interface Checkpoint extends CheckpointBody {
  sig: string;
}

export const FIRST_PREV = GENESIS_HASH;

export function lineDigest(line: string): string {
  return sha256Hex(line);
}

export function signCheckpoint(body: CheckpointBody, key: KeyObject): string {
  const sig = sign(null, Buffer.from(SIGNED_PREFIX + canonicalJson(body)), key).toString('base64');
  return canonicalJson({ ...body, sig });
}

const HEX64 = /^[0-9a-f]{64}$/;
const REASONS: readonly CheckpointReason[] = ['keying-began', 'start', 'schedule', 'shutdown'];

function count(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
}

export type CheckpointParse = { ok: true; cp: Checkpoint } | { ok: false; why: string };

/** Parses one line and checks its signature. Says why when it is not a good checkpoint. */
export function parseCheckpoint(line: string, key: KeyObject): CheckpointParse {
  if (line.length > MAX_CHECKPOINT_LINE) return { ok: false, why: `line longer than ${MAX_CHECKPOINT_LINE} characters` };
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, why: 'not JSON' };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, why: 'not a JSON object' };
  const o = raw as Record<string, unknown>;
  const fields = ['v', 'n', 'seq', 'hash', 'at', 'node', 'keyedFrom', 'keyId', 'reason', 'prev', 'sig'];
  if (Object.keys(o).length !== fields.length || !fields.every((f) => f in o)) return { ok: false, why: 'unexpected fields' };
  if (o.v !== 1 || !count(o.n, 1) || !count(o.seq, 0) || !count(o.at, 0) || !count(o.keyedFrom, 1)) return { ok: false, why: 'bad field value' };
  if (typeof o.hash !== 'string' || !HEX64.test(o.hash) || typeof o.prev !== 'string' || !HEX64.test(o.prev)) return { ok: false, why: 'bad hash' };
  if (typeof o.node !== 'string' || o.node.length > 255 || typeof o.keyId !== 'string' || !/^[0-9a-f]{16}$/.test(o.keyId)) return { ok: false, why: 'bad node or key id' };
  if (typeof o.reason !== 'string' || !REASONS.includes(o.reason as CheckpointReason)) return { ok: false, why: 'bad reason' };
  if (typeof o.sig !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(o.sig)) return { ok: false, why: 'bad signature encoding' };
  const { sig, ...rest } = o;
  const body = rest as unknown as CheckpointBody;
  if (!verify(null, Buffer.from(SIGNED_PREFIX + canonicalJson(body)), key, Buffer.from(sig, 'base64'))) {
    return { ok: false, why: 'bad signature' };
  }
  return { ok: true, cp: { ...body, sig } };
}
