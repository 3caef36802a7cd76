import { describe, expect, it } from 'vitest';
import { MAX_INPUT_CHARS, parseClientFrame, TerminalProtocolError } from '../../gateway/web-terminal/messages.js';

describe('browser terminal frames', () => {
  it('reads input and resize messages', () => {
    expect(parseClientFrame('{"type":"input","data":"ls -l\\r"}', false)).toEqual({ type: 'input', data: 'ls -l\r' });
    expect(parseClientFrame(Buffer.from('{"type":"resize","cols":120,"rows":40}'), false)).toEqual({ type: 'resize', cols: 120, rows: 40 });
  });

  it.each([
    ['binary frame', Buffer.from([1, 2, 3]), true, /binary frames/],
    ['not JSON', 'ls\r', false, /not JSON/],
    ['JSON but not an object', '42', false, /not a message object/],
    ['unknown type', '{"type":"exec","cmd":"id"}', false, /unknown message type/],
    ['input without text', '{"type":"input","data":5}', false, /without data/],
    ['input too large', JSON.stringify({ type: 'input', data: 'x'.repeat(MAX_INPUT_CHARS + 1) }), false, /at most/],
    ['zero columns', '{"type":"resize","cols":0,"rows":10}', false, /resize needs/],
    ['huge rows', '{"type":"resize","cols":80,"rows":100000}', false, /resize needs/],
    ['fractional size', '{"type":"resize","cols":80.5,"rows":24}', false, /resize needs/],
  ])('refuses %s with a reason', (_what, frame, binary, why) => {
    expect(() => parseClientFrame(frame, binary)).toThrow(TerminalProtocolError);
    expect(() => parseClientFrame(frame, binary)).toThrow(why);
  });
});
