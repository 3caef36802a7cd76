// The browser terminal's wire format over WebSocket, both directions. Browser → gateway: text
// frames of JSON, {"type":"input","data":"..."} or {"type":"resize","cols":N,"rows":N}; anything
// else (binary frames, other JSON, oversized input) is a protocol error that ends the socket with a
// reason. Gateway → browser: binary frames are terminal output bytes, text frames are JSON notices
// ({"type":"notice"|"end"|"error", ...}). Pure: no sockets here. The message types are declared
// in ../api-types.ts, which the browser's vendor page reads too.
import type { TerminalClientMessage as ClientMessage, TerminalNotice as ServerNotice } from '../api-types.js';

export type { ClientMessage, ServerNotice };

/** Most input one frame may carry; the page splits a large paste into frames of this size. */
export const MAX_INPUT_CHARS = 16 * 1024;
/** Frames larger than this close the socket before parsing (ws maxPayload). */
export const MAX_FRAME_BYTES = 64 * 1024;
export const MAX_COLS = 500;
export const MAX_ROWS = 200;

export class TerminalProtocolError extends Error {}

const dimension = (v: unknown, max: number): number | null =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= max ? v : null;

/** Parses one frame from the browser, or throws TerminalProtocolError saying what was wrong. */
export function parseClientFrame(data: Buffer | string, isBinary: boolean): ClientMessage {
  if (isBinary) throw new TerminalProtocolError('binary frames are not terminal data');
  const text = typeof data === 'string' ? data : data.toString('utf8');
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    throw new TerminalProtocolError('a frame was not JSON');
  }
  if (typeof m !== 'object' || m === null) throw new TerminalProtocolError('a frame was not a message object');
  const o = m as Record<string, unknown>;
  if (o.type === 'input') {
    if (typeof o.data !== 'string') throw new TerminalProtocolError('input without data');
    if (o.data.length > MAX_INPUT_CHARS) throw new TerminalProtocolError(`input frames carry at most ${MAX_INPUT_CHARS} characters`);
    return { type: 'input', data: o.data };
  }
  if (o.type === 'resize') {
    const cols = dimension(o.cols, MAX_COLS);
    const rows = dimension(o.rows, MAX_ROWS);
    if (cols === null || rows === null) throw new TerminalProtocolError(`resize needs whole cols 1-${MAX_COLS} and rows 1-${MAX_ROWS}`);
    return { type: 'resize', cols, rows };
  }
  throw new TerminalProtocolError('unknown message type');
}
