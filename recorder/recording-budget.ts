// The byte budget of one session's recording, shared by all its files (casts, events, statements,
// captures): a meter every FileSink charges before it accepts a write. The write that reaches the
// budget is still recorded whole (it was, or is about to be, forwarded), then the recording is
// stopped: later writes are dropped, and the owner is told once, after the current call returns
// (never from inside a tap, which would end a session in the middle of an adapter's handler).
// Stopping for another cause (the recordings volume is low) goes through the same switch.
// It does not decide whether the session ends: the pipeline does, by policy.
import type { ByteMeter } from './file-sink.js';

/** Why a recording stopped before its end. */
export type RecordingStop = 'budget' | 'space';

/** Thrown to a recording's onFailure when it reached its byte budget (the pipeline ends the session). */
export class RecordingBudgetExceeded extends Error {
  constructor(readonly limit: number) {
    super(`the recording reached its byte budget of ${limit} bytes`);
    this.name = 'RecordingBudgetExceeded';
  }
}

export class RecordingBudget implements ByteMeter {
  private usedBytes = 0;
  private stoppedBy: RecordingStop | null = null;

  /**
   * limit 0: no budget (the meter only counts, and stops only when told to). `tally` sees every
   * byte taken (the gateway's watch on the recordings volume).
   */
  constructor(readonly limit: number, private readonly onExceeded: () => void, private readonly tally?: (bytes: number) => void) {}

  get used(): number {
    return this.usedBytes;
  }

  get stopped(): RecordingStop | null {
    return this.stoppedBy;
  }

  take(bytes: number): boolean {
    if (this.stoppedBy) return false;
    this.usedBytes += bytes;
    this.tally?.(bytes);
    if (this.limit > 0 && this.usedBytes >= this.limit) {
      this.stoppedBy = 'budget';
      queueMicrotask(this.onExceeded);
    }
    return true;
  }

  /** Drops every later write; false if it was stopped already. */
  stop(cause: RecordingStop): boolean {
    if (this.stoppedBy) return false;
    this.stoppedBy = cause;
    return true;
  }
}
