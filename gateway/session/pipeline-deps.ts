// What the session pipeline is built from (its ports, registry, clock, limits and gate rules), and
// the handle a front end keeps for a session it started. Types and two small defaults; no logic.
import { SessionRecording, type RecordingMeta, type RecordingOptions } from '../../recorder/session-recording.js';
import type { SpanSealer } from '../../recorder/masked-spans.js';
import type { SessionTaps } from '../../recorder/taps.js';
import { LOG, type Logger } from '../log/logger.js';
import type { Clock } from '../util/clock.js';
import type { DeadlineScheduler } from '../util/deadline-scheduler.js';
import type { FrontEnd, ProtocolAdapter, SessionRefusal } from './adapter.js';
import type { Credentials } from './credentials.js';
import type { GateRule } from './gate.js';
import type { LiveSessions } from './live-sessions.js';
import type { Authorizer, SessionJournal } from './ports.js';
import type { SessionRisk } from './risk-port.js';
import type { TerminationReason } from './termination.js';

export type RecordingOpener = (dir: string, meta: RecordingMeta, now: () => number, onFailure: (err: Error) => void, opts: RecordingOptions) => SessionRecording;

export interface SessionLimitsConfig {
  /** Idle timeout per front end in ms; 0 = none. */
  idleMs: Record<FrontEnd, number>;
  /** Maximum session length in ms; 0 = none. */
  maxSessionMs: number;
  /**
   * Channels without a terminal (SSH `-T`, exec): input bytes recorded whole per session before the
   * session is cut (`input-cap-exceeded`), and bytes of output events written to their casts, as
   * stored (digests after).
   * Default: the recorder's PIPE_DEFAULTS.
   */
  pipeInputCap?: number;
  pipeOutputCap?: number;
  /**
   * How long the upstream leg (connect, TLS, greeting, login) may take before the client is refused
   * (`upstream-failed`, kind `timeout`); default 10 s. A target that accepts TCP and never answers
   * holds only its own session.
   */
  connectMs?: number;
  /**
   * Every this many ms each relaying session's access is checked again from the store (0: never).
   * Events cut at once on this node; this catches what no event announced here — a change made
   * through another node sharing the store, or written to the store directly.
   */
  recheckMs?: number;
}

export const DEFAULT_CONNECT_MS = 10_000;

export interface PipelineDeps {
  authorizer: Authorizer;
  journal: SessionJournal;
  credentials: Credentials;
  live: LiveSessions;
  scheduler: DeadlineScheduler;
  clock: Clock;
  log: Logger;
  recordingsDir: string;
  /** Recordings of running sessions, for live viewers and the browser terminal's catch-up. */
  liveRecordings: Map<string, SessionRecording>;
  limits: SessionLimitsConfig;
  /** Gate rules (guardrails, a later issue); empty: every command passes. */
  gateRules: readonly GateRule[];
  /**
   * The key masked terminal input is sealed under (vault/recording-keys.ts). Awaited before a
   * recording opens; if it cannot be had, masked input becomes a recording failure, never a gap.
   */
  spanSealer: () => Promise<SpanSealer>;
  /** How a recording is opened; tests may wrap it. */
  openRecording?: RecordingOpener;
  /** Byte budget of one session's recording (recordings.sessionBudget); 0 or absent: none. */
  recordingBudgetBytes?: number;
  /** Free space on the recordings volume (recording-space.ts); absent: not watched. */
  recordingSpace?: RecordingSpaceView;
  /** Session flags and risk score (gateway/risk/); absent: no flags. */
  risk?: SessionRisk;
  /** Where sealed recordings get their keyframes and search index (post-close.ts); absent: indexed at the end, inline. */
  postClose?: { enqueue(job: { session: string; dir: string }): void };
}

/** What the pipeline reads of the recordings volume's watch. */
export interface RecordingSpaceView {
  /** Null while sessions may start; else what a refused client is told. */
  readonly refusal: string | null;
  /** Recordings wrote this many bytes (checked against the watermark). */
  wrote(bytes: number): void;
  /** Measures the volume now (a recording write failed: maybe it is full). */
  measure(): Promise<void>;
}

/** A session that got as far as relaying. */
export interface SessionHandle {
  readonly id: string;
  readonly recordingDir: string;
  readonly isEnded: boolean;
  /** Ends the session from the gateway's side (e.g. a browser terminal nobody came back to). */
  terminate(reason: TerminationReason): void;
  /** Resolves once the session has ended and its credential is revoked and recording sealed. */
  readonly settled: Promise<TerminationReason>;
}

/** An adapter's refusal must never take the pipeline down: it is the last thing said anyway. */
export function refuseSafely<U>(adapter: ProtocolAdapter<U>, refusal: SessionRefusal, log: Logger): void {
  try {
    adapter.refuse(refusal);
  } catch (err) {
    log.error({ err: err instanceof Error ? err.message : String(err), addr: adapter.clientAddr }, LOG.sessionRefuseFailed);
  }
}

export const defaultOpener: RecordingOpener = (dir, meta, now, onFailure, opts) => new SessionRecording(dir, meta, now, onFailure, opts);

const NO_BYTES = { write: (): void => {}, close: (): Promise<void> => Promise.resolve() };
/** Taps for a session the policy lets run unrecorded after its recording could not be opened. */
export const NO_TAPS: SessionTaps = {
  terminal: () => ({ output: () => {}, input: () => {}, resize: () => {}, marker: () => {}, end: () => {} }),
  pipe: () => ({ channel: 0, input: () => true, stdout: () => {}, stderr: () => {}, marker: () => {}, end: () => {} }),
  marker: () => {}, statement: () => {}, fileOperation: () => {}, event: () => {},
  captureExec: () => ({ stdout: NO_BYTES, stderr: NO_BYTES }),
  end: () => Promise.resolve(),
};
