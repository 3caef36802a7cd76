// The recorder-side interface the session pipeline writes a session through: terminal streams
// (output, input, resize), pipe streams (a channel without a terminal: input, stdout, stderr), markers, database statements, file operations, structured events, raw
// output captures, and the end that seals the recording. Protocol adapters get it from the pipeline
// and only tap: they never decide what a recording failure means (the pipeline does, by policy).
// This module is types only; SessionRecording implements it.

/** The header fields of one terminal stream (asciicast v2 header minus the timestamp). */
export interface TerminalHeader {
  width: number;
  height: number;
  command?: string;
  title?: string;
  env?: Record<string, string>;
}

/** One terminal stream (an SSH pty channel, a browser terminal). */
export interface TerminalTap {
  output(bytes: Buffer): void;
  input(bytes: Buffer): void;
  resize(cols: number, rows: number): void;
  marker(label: string): void;
  end(): void;
}

/** The header fields of one pipe stream (a shell or exec channel without a pty). */
export interface PipeHeader {
  command?: string;
}

/**
 * One channel without a terminal. What the client sends is recorded whole before it may be
 * forwarded: `input` answers false when the session's input cap would be passed, and then the bytes
 * must not reach the target (the session is being ended with `input-cap-exceeded`).
 */
export interface PipeTap {
  /** The channel's number in the recording (its `ch-N.cast`; a full capture of it is `exec-N.*`). */
  readonly channel: number;
  input(bytes: Buffer): boolean;
  stdout(bytes: Buffer): void;
  stderr(bytes: Buffer): void;
  marker(label: string): void;
  end(): void;
}

/** A raw byte capture (full output of a command under a full-capture policy). */
export interface ByteTap {
  write(bytes: Buffer): void;
  close(): Promise<void>;
}

/** A file operation seen in a file-transfer protocol (SFTP today). */
export interface FileOperation {
  op: string;
  path: string;
  to?: string;
  bytes?: number;
  ok: boolean;
  error?: string;
}

export interface SessionTaps {
  /** Opens a terminal stream; keystrokes are recorded or not as the recording was configured. */
  terminal(header: TerminalHeader): TerminalTap;
  /** Opens a pipe stream (a shell or exec channel without a pty that is not a file transfer). */
  pipe(header: PipeHeader): PipeTap;
  /** A marker in every open terminal stream and in the event log. */
  marker(label: string): void;
  /** One executed database statement (one NDJSON record). */
  statement(record: object): void;
  fileOperation(op: FileOperation): void;
  /** A structured event (exec summary, forward, gate verdict): one NDJSON line with its time. */
  event(kind: string, data: Record<string, unknown>): void;
  /**
   * A raw capture file for a command (`exec-N.stdout` / `exec-N.stderr`): N is `channel` when the
   * command already has one (its pipe stream), else the next channel number.
   */
  captureExec(channel?: number): { stdout: ByteTap; stderr: ByteTap };
  /** Ends every stream, writes everything out and seals the recording with the reason. */
  end(reason: string): Promise<void>;
}
