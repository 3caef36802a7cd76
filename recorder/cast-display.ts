// How a recording is shown on a terminal screen. A terminal (pty) cast is shown as recorded: its
// "o" events are what the client's terminal drew. A pipe cast (a channel without a pty,
// pipe-cast-writer.ts) has no terminal behind it: its input was never echoed and its output uses
// bare newlines, so it is rendered as a transcript: input in green, stdout as is, stderr in red,
// "\n" as "\r\n", control characters of the input made visible. Every viewer renders through
// here (keyframes, player windows, live view, `portcullis play`), so a keyframe snapshot and the events after it always agree.
// It never changes a file: the recording keeps the exact streams; this is a view of them.
import type { CastEvent } from './asciicast-reader.js';

const GREEN = '\u001b[32m';
const RED = '\u001b[31m';
const DEFAULT_FG = '\u001b[39m';

/** Whether a cast header belongs to a channel without a terminal. */
export function isPipeCast(header: Record<string, unknown> | null | undefined): boolean {
  const p = header?.['portcullis'];
  return typeof p === 'object' && p !== null && (p as Record<string, unknown>)['pty'] === false;
}

const crlf = (text: string): string => text.replace(/\r?\n/g, '\r\n');
// Input is shown, never obeyed: a control character in it (an escape sequence, a carriage return)
// could otherwise erase or overwrite the very command it belongs to on the replayed screen. Shown
// in caret notation (^[, ^M, ^?), as `cat -v` does; newline and tab keep their meaning.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;
const caret = (text: string): string => text.replace(CONTROL, (c) => (c === '\u007f' ? '^?' : `^${String.fromCharCode(c.charCodeAt(0) + 64)}`));

/** The event as a screen shows it: pipe input/stdout/stderr become "o"; everything else is unchanged. */
export function displayEvent(pipe: boolean, e: CastEvent): CastEvent {
  if (!pipe) return e;
  switch (e[1]) {
    case 'i': return [e[0], 'o', GREEN + crlf(caret(e[2])) + DEFAULT_FG];
    case 'o': return [e[0], 'o', crlf(e[2])];
    case 'e': return [e[0], 'o', RED + crlf(e[2]) + DEFAULT_FG];
    default: return e;
  }
}

/** A mapper for one cast, chosen once from its header. */
export function displayFor(header: Record<string, unknown> | null | undefined): (e: CastEvent) => CastEvent {
  const pipe = isPipeCast(header);
  return (e) => displayEvent(pipe, e);
}
