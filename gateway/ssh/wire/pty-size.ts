// The terminal size a recording is given from SSH pty-req and window-change requests. Pure.
// RFC 4254 §6.2: the dimensions are informational and zero ones "MUST be ignored"; OpenSSH's
// `ssh -tt` with stdin not a terminal (automation) asks for a 0x0 pty. An asciicast header needs a
// real size to play (asciinema, our player, keyframes), so a zero dimension becomes the classic
// 80x24 at the start and, in a window-change, keeps the size recorded so far.
// It does not decide what the target sees: requests go upstream as the client sent them, as
// OpenSSH's own sshd would be asked directly.

export interface TerminalSize {
  cols: number;
  rows: number;
}

/** What a terminal is taken to be when its client did not say (the VT100's size, every tool's default). */
export const DEFAULT_TERMINAL_SIZE: Readonly<TerminalSize> = { cols: 80, rows: 24 };

// The wire allows 2^32-1. A recording's size is allocated as cells by every player and by the
// keyframe worker, so an absurd size is capped: 2000x1000 is more than an 8K screen in a tiny font.
export const MAX_RECORDED_COLS = 2000;
export const MAX_RECORDED_ROWS = 1000;

const known = (v: number): boolean => Number.isInteger(v) && v > 0;
const dimension = (v: number, otherwise: number, max: number): number => (known(v) ? Math.min(v, max) : otherwise);

/** The size to record for a pty request: each zero (or nonsense) dimension takes the default. */
export function requestedSize(cols: number, rows: number): TerminalSize {
  return {
    cols: dimension(cols, DEFAULT_TERMINAL_SIZE.cols, MAX_RECORDED_COLS),
    rows: dimension(rows, DEFAULT_TERMINAL_SIZE.rows, MAX_RECORDED_ROWS),
  };
}

/**
 * The size to record after a window-change: each zero dimension keeps the current one. Null when
 * the change says nothing (both zero), so no resize event is recorded.
 */
export function changedSize(current: TerminalSize, cols: number, rows: number): TerminalSize | null {
  if (!known(cols) && !known(rows)) return null;
  return {
    cols: dimension(cols, current.cols, MAX_RECORDED_COLS),
    rows: dimension(rows, current.rows, MAX_RECORDED_ROWS),
  };
}
