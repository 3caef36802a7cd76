// What the session pipeline asks of the risk scorer (gateway/risk/): one watch per session, told
// about gate verdicts, rows returned and bytes sent to the client; the flags themselves, their
// books and alerts are the scorer's. Types only, so the pipeline does not depend on the scorer.
import type { SessionTaps } from '../../recorder/taps.js';
import type { SessionStart } from './ports.js';

export interface RiskWatch {
  /** A deny or flag verdict of the gate (one flag per rule per session). `command` is describeCommand's. */
  gated(verdict: 'deny' | 'flag', rule: string, command: string): void;
  /** Bytes the gateway sent to the client: one addition, called per chunk on the relay path. */
  sent(bytes: number): void;
  /** False when bytes are not scored (risk.exportBytes off, or its weight 0): adapters then get no counter. */
  readonly countsBytes: boolean;
}

export interface SessionRisk {
  /**
   * Starts watching a booked session: the session-start detectors run off the login path. Returns
   * the taps to record through (statements feed the row count; flags become markers) and the watch.
   */
  watch(start: SessionStart, taps: SessionTaps): { taps: SessionTaps; watch: RiskWatch };
}
