// The files behind checkpoints, in the data dir and never in the database:
// - `audit-signing.key` (Ed25519 private key, PKCS#8 PEM, mode 0600) and `audit-signing.pub` (SPKI
//   PEM, for anyone who checks checkpoints elsewhere), made by `init` or on the first start of an
//   older data dir;
// - `audit-checkpoints.ndjson`, one signed checkpoint per line (checkpoint-format.ts), only ever
//   appended (O_APPEND, fsync'd after each line).
// It does not decide when to write (checkpoints.ts) or what a line means (the verifier).
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { closeSync, createReadStream, existsSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { PortcullisError } from '../util/errors.js';
import { MAX_CHECKPOINT_LINE } from './checkpoint-format.js';

export interface AuditFiles {
  signingKey: string;
  publicKey: string;
  checkpoints: string;
}

export function auditFiles(dataDir: string): AuditFiles {
  return {
    signingKey: join(dataDir, 'audit-signing.key'),
    publicKey: join(dataDir, 'audit-signing.pub'),
    checkpoints: join(dataDir, 'audit-checkpoints.ndjson'),
  };
}

/** Loads the signing key, making the pair first when the data dir has none. */
export function ensureSigningKey(files: AuditFiles): KeyObject {
  if (!existsSync(files.signingKey)) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(files.signingKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    writeFileSync(files.publicKey, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  }
  return createPrivateKey(readFileSync(files.signingKey));
}

/**
 * The key checkpoints are checked with: the private key's own public half when it is here (a
 * replaced .pub file cannot vouch for forged lines then), else the .pub file, else null.
 */
export function loadVerifyKey(files: AuditFiles): KeyObject | null {
  if (existsSync(files.signingKey)) return createPublicKey(createPrivateKey(readFileSync(files.signingKey)));
  if (existsSync(files.publicKey)) return createPublicKey(readFileSync(files.publicKey));
  return null;
}

/** The raw 32-byte Ed25519 public key, base64: what operators compare and webhook receivers pin. */
export function publicKeyText(key: KeyObject): string {
  const pub = key.type === 'public' ? key : createPublicKey(key);
  const der = pub.export({ type: 'spki', format: 'der' });
  return der.subarray(der.length - 32).toString('base64');
}

/** The first and last whole lines of the file (the writer needs no more), null when it has none. */
export function readEnds(file: string): { first: string; last: string } | null {
  if (!existsSync(file)) return null;
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return null;
    const window = 4 * MAX_CHECKPOINT_LINE;
    const head = Buffer.alloc(Math.min(size, window));
    readSync(fd, head, 0, head.length, 0);
    const tail = Buffer.alloc(Math.min(size, window));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    const first = head.toString('utf8').split('\n')[0] ?? '';
    const lines = tail.toString('utf8').split('\n');
    // The file ends with "\n", so the last element is empty and the one before it is the last line.
    const last = lines.length >= 2 ? lines[lines.length - 2]! : '';
    return { first, last };
  } finally {
    closeSync(fd);
  }
}

/**
 * Cuts a torn last line (a crash in the middle of our own write) back to the last newline, so the
 * next line does not start inside it. Returns how many bytes were cut.
 */
export function cutTornTail(file: string): number {
  if (!existsSync(file)) return 0;
  const fd = openSync(file, 'r+');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return 0;
    const window = Math.min(size, 4 * MAX_CHECKPOINT_LINE);
    const tail = Buffer.alloc(window);
    readSync(fd, tail, 0, window, size - window);
    if (tail[window - 1] === 0x0a) return 0;
    const nl = tail.lastIndexOf(0x0a);
    const keep = nl < 0 ? (size > window ? size - window : 0) : size - window + nl + 1;
    ftruncateSync(fd, keep);
    return size - keep;
  } finally {
    closeSync(fd);
  }
}

/** Appends one line and fsyncs it before resolving. */
export async function appendLine(file: string, line: string): Promise<void> {
  if (line.includes('\n') || line.length > MAX_CHECKPOINT_LINE) throw new PortcullisError('internal', 'not a checkpoint line');
  const fh = await open(file, 'a', 0o600);
  try {
    await fh.write(line + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Every line of the file in order (none when it does not exist); see splitLines. */
export async function* readLines(file: string): AsyncGenerator<{ text: string; torn: boolean }> {
  if (!existsSync(file)) return;
  yield* splitLines(createReadStream(file, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>);
}

/**
 * Splits bytes into lines by hand so a line is never held past the limit: a longer one is yielded
 * cut to the limit + 1 bytes, and the parser refuses it. `torn` marks a last line with no newline.
 * Pure over its input (tests feed it every split point).
 */
export async function* splitLines(chunks: AsyncIterable<Buffer> | Iterable<Buffer>): AsyncGenerator<{ text: string; torn: boolean }> {
  let cur: Buffer[] = [];
  let curLen = 0;
  const keep = (part: Buffer): void => {
    const take = part.subarray(0, Math.max(0, MAX_CHECKPOINT_LINE + 1 - curLen));
    if (take.length > 0) {
      cur.push(take);
      curLen += take.length;
    }
  };
  const line = (): string => {
    const text = Buffer.concat(cur).toString('utf8');
    cur = [];
    curLen = 0;
    return text;
  };
  for await (const chunk of chunks) {
    let from = 0;
    for (let nl = chunk.indexOf(0x0a, from); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
      keep(chunk.subarray(from, nl));
      yield { text: line(), torn: false };
      from = nl + 1;
    }
    keep(chunk.subarray(from));
  }
  if (curLen > 0) yield { text: line(), torn: true };
}
