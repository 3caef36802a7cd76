// Writes signed checkpoints of the audit chain's head to `<data>/audit-checkpoints.ndjson`: once
// when keying begins (the line that fixes `keyedFrom`, so a database writer cannot move the
// boundary later), at start and every `audit.checkpointInterval` when the head moved, and at every
// clean shutdown;
// each line also goes to the webhooks (event `audit.checkpoint`) so a copy lives off the host.
// Writes are serialized: one line at a time, each fsync'd before the next is built.
// It does not verify anything (verify.ts) or append to the chain.
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { CheckpointNotice } from '../access/events.js';
import type { AuditRow } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { DeadlineScheduler } from '../util/deadline-scheduler.js';
import type { AuditKey } from './audit-key.js';
import { findKeyedStart } from './audit-log.js';
import { GENESIS_HASH, plainHash } from './chain.js';
import { appendLine, cutTornTail, publicKeyText, readEnds } from './checkpoint-file.js';
import { type Checkpoint, type CheckpointReason, FIRST_PREV, lineDigest, parseCheckpoint, signCheckpoint } from './checkpoint-format.js';

const TIMER_KEY = 'audit-checkpoint';

export interface CheckpointDeps {
  store: Store;
  key: AuditKey;
  signingKey: KeyObject;
  file: string;
  clock: Clock;
  scheduler: DeadlineScheduler;
  node: string;
  /** ms between scheduled checkpoints; 0 = only at start, keying and shutdown. */
  intervalMs: number;
  /** Persists audit.key (sealed by the vault) once keyedFrom is fixed. */
  persistKey: () => void;
  notify: (n: CheckpointNotice) => void;
  onError: (err: unknown) => void;
  onTornTail?: (bytes: number) => void;
  /** The store's head is behind the last checkpoint (or differs at its seq): it was cut or rewritten. */
  onBehind?: (at: { checkpointSeq: number; storeSeq: number }) => void;
}

interface LastLine {
  n: number;
  seq: number;
  hash: string;
  digest: string;
}

export class AuditCheckpoints {
  private last: LastLine | null = null;
  private loaded = false;
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;
  /**
   * Set by start(): only a checkpointer that started owns the file. A process that built the app
   * and gave up before starting (a second `serve` refused because the node is running) must not
   * append a shutdown line to the running node's file.
   */
  private started = false;
  private readonly pub: KeyObject;

  constructor(private readonly d: CheckpointDeps) {
    this.pub = createPublicKey(d.signingKey);
  }

  /**
   * Fixes the keying boundary (from the file's first line, or the head now), writes the first line
   * when the file has none, a start line when the head moved since the last, and arms the schedule.
   */
  async start(): Promise<void> {
    this.started = true;
    // Armed even when this first write fails: every scheduled attempt logs again until it works.
    try {
      await this.startNow();
    } finally {
      this.arm();
    }
  }

  private startNow(): Promise<void> {
    return this.serial(async () => {
      this.load();
      if (this.d.key.keyedFrom === null) {
        // Nothing recorded the boundary: keyed entries already there (a crash before audit.key was
        // written) keep theirs; otherwise keying begins with the next entry.
        const start = await findKeyedStart(this.d.store, this.d.key.key);
        const head = await this.d.store.audit.last();
        if (start === null && head && !isPlainHead(head)) {
          // Keyed, but not under this node's key (a node joining after a rotation without audit.key):
          // fixing a boundary now would key new entries with the wrong key. Say so and write nothing.
          throw new Error('the audit chain\'s newest entry was not made with this node\'s audit key: copy audit.key (with master.key) from the node that wrote it');
        }
        this.d.key.fix(start ?? (head?.seq ?? 0) + 1);
      }
      if (!this.d.key.persisted) this.d.persistKey();
      await this.writeIfMoved(this.last === null ? 'keying-began' : 'start');
    });
  }

  /** A checkpoint now if the head moved since the last one (resolves when it is on disk). */
  checkpoint(reason: CheckpointReason): Promise<void> {
    return this.serial(async () => {
      this.load();
      await this.writeIfMoved(reason);
    });
  }

  /**
   * The shutdown checkpoint, written even when the head did not move (a clean stop leaves its mark:
   * the next start's line after it says nothing was lost in between); no scheduled one after it.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.d.scheduler.delete(TIMER_KEY);
    if (!this.started) return;
    await this.checkpoint('shutdown').catch((err: unknown) => this.d.onError(err));
  }

  private arm(): void {
    if (this.stopped || this.d.intervalMs <= 0) return;
    this.d.scheduler.set(TIMER_KEY, this.d.clock.now() + this.d.intervalMs, async () => {
      try {
        await this.checkpoint('schedule');
      } catch (err) {
        this.d.onError(err);
      } finally {
        this.arm();
      }
    });
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private load(): void {
    if (this.loaded) return;
    const torn = cutTornTail(this.d.file);
    if (torn > 0) this.d.onTornTail?.(torn);
    const ends = readEnds(this.d.file);
    if (ends) {
      const first = parseCheckpoint(ends.first, this.pub);
      const last = parseCheckpoint(ends.last, this.pub);
      // A file we cannot read back is not ours to extend: refuse rather than write lines that
      // would hide what is wrong with it. `audit verify` says what is.
      if (!first.ok || !last.ok) throw new Error(`the audit checkpoint file ${this.d.file} does not verify (${first.ok ? '' : 'first line: ' + first.why}${!first.ok && !last.ok ? '; ' : ''}${last.ok ? '' : 'last line: ' + last.why}); run "portcullis audit verify"`);
      // The signed boundary wins over everything but audit.key itself (which verify compares).
      this.d.key.fix(first.cp.keyedFrom);
      this.last = { n: last.cp.n, seq: last.cp.seq, hash: last.cp.hash, digest: lineDigest(ends.last) };
    }
    this.loaded = true;
  }

  private async writeIfMoved(reason: CheckpointReason): Promise<void> {
    const head = await this.d.store.audit.last();
    const seq = head?.seq ?? 0;
    if (this.last && (seq < this.last.seq || (seq === this.last.seq && (head?.hash ?? GENESIS_HASH) !== this.last.hash))) {
      // The store is behind (or beside) what this node already signed: someone cut or rewrote it.
      // Never sign the smaller head: the lines already written are the evidence `audit verify` reads.
      this.d.onBehind?.({ checkpointSeq: this.last.seq, storeSeq: seq });
      return;
    }
    if (this.last && this.last.seq === seq && reason !== 'shutdown') return;
    const keyedFrom = this.d.key.fix(seq + 1);
    if (!this.d.key.persisted) this.d.persistKey();
    const body = {
      v: 1 as const, n: (this.last?.n ?? 0) + 1, seq, hash: head?.hash ?? GENESIS_HASH, at: this.d.clock.now(), node: this.d.node,
      keyedFrom, keyId: this.d.key.keyId, reason, prev: this.last?.digest ?? FIRST_PREV,
    };
    const line = signCheckpoint(body, this.d.signingKey);
    await appendLine(this.d.file, line);
    this.last = { n: body.n, seq, hash: body.hash, digest: lineDigest(line) };
    this.d.notify({
      seq, hash: body.hash, at: new Date(body.at).toISOString(), node: body.node, keyed_from: keyedFrom, key_id: body.keyId,
      reason, line, public_key: publicKeyText(this.d.signingKey),
    });
  }
}

/** Whether the head carries a plain SHA-256 link (a log from before keying). */
function isPlainHead(h: AuditRow): boolean {
  try {
    return h.hash === plainHash(h.prevHash, { seq: h.seq, ts: h.ts, code: h.code, actor: h.actor, data: JSON.parse(h.data) as unknown });
  } catch {
    return false;
  }
}

export type { Checkpoint, CheckpointNotice };
