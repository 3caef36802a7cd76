// Free space on the recordings volume, against a watermark (bytes and/or percent free): measured
// with statfs every second on the injected clock, and at once when the bytes recordings wrote since
// the last measure could have crossed it (a fast writer must not outrun the poll). It keeps one
// state, ok or low, and reports each crossing once (low, then restored with a 10% margin so a volume
// hovering at the line does not flap). The pipeline decides what low means (refuse new sessions,
// stop or end live ones); this module only measures. A volume it cannot measure counts as low:
// a recording that cannot be checked cannot be promised.
import { statfs } from 'node:fs/promises';
import type { Cancel, Clock } from '../util/clock.js';

export interface VolumeFree {
  /** Bytes an unprivileged writer can still use. */
  free: number;
  total: number;
}

export type StatVolume = (dir: string) => Promise<VolumeFree>;

export const statVolume: StatVolume = async (dir) => {
  const s = await statfs(dir);
  return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
};

export interface Watermark {
  minFreeBytes: number;
  minFreePercent: number;
}

export interface SpaceReport {
  dir: string;
  free: number;
  total: number;
  /** The free bytes below which the volume counts as low (the larger of the two marks). */
  watermark: number;
  /** Set when the volume could not be measured. */
  error?: string;
}

export interface SpaceHooks {
  low(r: SpaceReport): void;
  restored(r: SpaceReport): void;
}

const POLL_MS = 1000;
/** Back to ok only above the watermark plus this share of it. */
const RESTORE_MARGIN = 0.1;

export class RecordingSpace {
  private state: 'ok' | 'low' = 'ok';
  private last: SpaceReport;
  private writtenSince = 0;
  private measuring: Promise<void> | null = null;
  private cancel: Cancel | null = null;
  private stopped = false;

  constructor(
    readonly dir: string,
    private readonly mark: Watermark,
    private readonly clock: Clock,
    private readonly hooks: SpaceHooks,
    private readonly stat: StatVolume = statVolume,
  ) {
    this.last = { dir, free: Number.MAX_SAFE_INTEGER, total: 0, watermark: mark.minFreeBytes };
  }

  /** Measures once (before listeners accept), then every second until stop(). */
  async start(): Promise<void> {
    await this.measure();
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
  }

  get isLow(): boolean {
    return this.state === 'low';
  }

  /** The last measure (for the metrics and messages). */
  get report(): SpaceReport {
    return this.last;
  }

  /** What a refused client is told while the volume is low. */
  get refusal(): string | null {
    if (this.state === 'ok') return null;
    return this.last.error
      ? `the gateway cannot check the space for session recordings (${this.last.error}); sessions are refused until an admin fixes it`
      : `the gateway's recordings volume is almost full (${mib(this.last.free)} free, needs ${mib(this.last.watermark)}); sessions are refused until an admin frees space`;
  }

  /** Recordings wrote this many bytes; measures now if that could have crossed the watermark. */
  wrote(bytes: number): void {
    this.writtenSince += bytes;
    if (this.state === 'ok' && this.last.free - this.writtenSince < this.last.watermark) void this.measure();
  }

  /** One statfs; concurrent callers share it. */
  measure(): Promise<void> {
    this.measuring ??= this.measureOnce().finally(() => { this.measuring = null; });
    return this.measuring;
  }

  private async measureOnce(): Promise<void> {
    const writtenBefore = this.writtenSince;
    let r: SpaceReport;
    try {
      const v = await this.stat(this.dir);
      const watermark = Math.max(this.mark.minFreeBytes, Math.ceil(v.total * this.mark.minFreePercent / 100));
      r = { dir: this.dir, free: v.free, total: v.total, watermark };
    } catch (err) {
      r = { dir: this.dir, free: 0, total: 0, watermark: this.last.watermark, error: err instanceof Error ? err.message : String(err) };
    }
    // What was written while statfs ran may or may not be in its answer; count it again next time.
    this.writtenSince -= writtenBefore;
    this.last = r;
    if (this.state === 'ok' && (r.error || r.free < r.watermark)) {
      this.state = 'low';
      this.hooks.low(r);
    } else if (this.state === 'low' && !r.error && r.free >= r.watermark * (1 + RESTORE_MARGIN)) {
      this.state = 'ok';
      this.hooks.restored(r);
    }
  }

  private arm(): void {
    if (this.stopped) return;
    this.cancel = this.clock.schedule(this.clock.now() + POLL_MS, () => {
      void this.measure().finally(() => this.arm());
    });
  }
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
