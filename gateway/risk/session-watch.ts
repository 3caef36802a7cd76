// One session's risk watch: flags for gate verdicts (one per rule), for a mass export (rows
// returned or bytes sent to the client over the thresholds, flagged as soon as crossed), and for
// what the session-start detectors found. Each new flag is a marker in the recording at once (the
// player's timeline; terminals opened later get the start flags at their beginning) and an event
// line, then booked by the flag sink. Remembered in memory per session, so a flood of rule hits
// costs one Set lookup each, not a store write, an audit entry or a webhook.
import type { FileOperation, PipeHeader, PipeTap, SessionTaps, TerminalHeader, TerminalTap } from '../../recorder/taps.js';
import type { SessionStart } from '../session/ports.js';
import type { RiskWatch } from '../session/risk-port.js';
import { flagDetail } from './flag-detail.js';
import type { FlagDraft, FlagSink } from './flag-sink.js';
import type { RiskSettings } from './risk-settings.js';

/** Distinct rules flagged per session at most: rules are few; this bounds a store that grew many. */
const MAX_FLAGS = 256;

export class SessionWatch implements RiskWatch {
  private readonly raised = new Set<string>();
  /** Labels of flags raised so far, for terminals and pipes opened after them. */
  private readonly labels: string[] = [];
  private rows = 0;
  private bytes = 0;
  private exported = false;
  /** Flags are booked one after the other, so each audit entry's score is the score with it. */
  private booking: Promise<unknown> = Promise.resolve();
  readonly taps: SessionTaps;
  readonly countsBytes: boolean;

  constructor(private readonly start: SessionStart, private readonly raw: SessionTaps, private readonly sink: FlagSink, private readonly s: RiskSettings) {
    this.taps = new WatchedTaps(raw, this);
    this.countsBytes = s.exportBytes > 0 && s.weights['mass-export'] > 0;
  }

  gated(verdict: 'deny' | 'flag', rule: string, command: string): void {
    this.raise({ kind: 'rule', key: rule, detail: flagDetail(`${verdict} by ${rule}: ${command}`) });
  }

  sent(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes >= this.s.exportBytes && this.s.exportBytes > 0 && !this.exported) this.exportFlag(`${this.bytes} bytes sent to the client (threshold ${this.s.exportBytes})`);
  }

  /** Rows a statement returned (the statement log's count; COPY TO STDOUT counts too). */
  returned(rows: number): void {
    this.rows += rows;
    if (this.rows >= this.s.exportRows && this.s.exportRows > 0 && !this.exported) this.exportFlag(`${this.rows} rows returned (threshold ${this.s.exportRows})`);
  }

  raise(f: FlagDraft): void {
    const weight = this.s.weights[f.kind];
    if (weight <= 0) return;
    const id = `${f.kind}\u0000${f.key}`;
    if (this.raised.has(id) || this.raised.size >= MAX_FLAGS) return;
    this.raised.add(id);
    const label = `flagged ${f.kind}: ${f.detail}`;
    this.labels.push(label);
    this.raw.marker(label);
    this.raw.event('flag', { flag: f.kind, key: f.key, detail: f.detail, weight });
    this.booking = this.booking.then(() => this.sink.raise(this.start, f, weight));
  }

  /** Flags raised before a stream opened, written at its start so its timeline shows them. */
  replay(to: { marker(label: string): void }): void {
    for (const l of this.labels) to.marker(l);
  }

  private exportFlag(detail: string): void {
    this.exported = true;
    this.raise({ kind: 'mass-export', key: 'mass-export', detail });
  }
}

/** The recording's taps with statements counted and earlier flags replayed into new streams. */
class WatchedTaps implements SessionTaps {
  constructor(private readonly raw: SessionTaps, private readonly watch: SessionWatch) {}

  terminal(header: TerminalHeader): TerminalTap {
    const t = this.raw.terminal(header);
    this.watch.replay(t);
    return t;
  }

  pipe(header: PipeHeader): PipeTap {
    const p = this.raw.pipe(header);
    this.watch.replay(p);
    return p;
  }

  marker(label: string): void { this.raw.marker(label); }

  statement(record: object): void {
    this.raw.statement(record);
    const rows = (record as { rows_returned?: unknown }).rows_returned;
    if (typeof rows === 'number' && rows > 0) this.watch.returned(rows);
  }

  // File transfers (SFTP, scp) are counted as the bytes their channels send (`sent`), not here twice.
  fileOperation(op: FileOperation): void { this.raw.fileOperation(op); }

  event(kind: string, data: Record<string, unknown>): void { this.raw.event(kind, data); }
  captureExec(channel?: number): ReturnType<SessionTaps['captureExec']> { return this.raw.captureExec(channel); }
  end(reason: string): Promise<void> { return this.raw.end(reason); }
}
