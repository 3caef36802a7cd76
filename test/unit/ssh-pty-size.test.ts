// The size an SSH terminal is recorded with: a 0x0 pty request (OpenSSH `-tt` with stdin not a
// terminal) is recorded as 80x24, a window-change with zeros keeps what is known, a later real
// size replaces it, and absurd sizes are capped.
import { describe, expect, it } from 'vitest';
import { changedSize, MAX_RECORDED_COLS, MAX_RECORDED_ROWS, requestedSize } from '../../gateway/ssh/wire/pty-size.js';

describe('the recorded size of an SSH terminal', () => {
  it('is 80x24 when the pty request says 0x0', () => {
    expect(requestedSize(0, 0)).toEqual({ cols: 80, rows: 24 });
  });

  it('is what the pty request says when it says something, each zero dimension taking the default', () => {
    expect(requestedSize(120, 40)).toEqual({ cols: 120, rows: 40 });
    expect(requestedSize(0, 40)).toEqual({ cols: 80, rows: 40 });
    expect(requestedSize(132, 0)).toEqual({ cols: 132, rows: 24 });
  });

  it('takes a later non-zero window-change as usual', () => {
    expect(changedSize(requestedSize(0, 0), 100, 30)).toEqual({ cols: 100, rows: 30 });
  });

  it('records nothing for a window-change that says 0x0, and keeps the known dimension for a single zero', () => {
    expect(changedSize({ cols: 100, rows: 30 }, 0, 0)).toBeNull();
    expect(changedSize({ cols: 100, rows: 30 }, 0, 50)).toEqual({ cols: 100, rows: 50 });
    expect(changedSize({ cols: 100, rows: 30 }, 90, 0)).toEqual({ cols: 90, rows: 30 });
  });

  it('caps sizes no screen has, which players and the keyframe worker would allocate as cells', () => {
    expect(requestedSize(0xffffffff, 0xffffffff)).toEqual({ cols: MAX_RECORDED_COLS, rows: MAX_RECORDED_ROWS });
    expect(changedSize({ cols: 80, rows: 24 }, 0xffffffff, 25)).toEqual({ cols: MAX_RECORDED_COLS, rows: 25 });
  });
});
