// Lines typed at an interactive prompt, as the gate sees them: plain typing with editing keys is
// reported, history and completion make a line unknown, password prompts are never reported, and
// a denied line's Enter becomes Ctrl-C.
import { describe, expect, it } from 'vitest';
import { gateTypedInput, TypedLines } from '../../gateway/session/typed-lines.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('typed lines', () => {
  it('reports each submitted line with backspace and Ctrl-U applied, across chunks', () => {
    const t = new TypedLines();
    expect(t.input(b('ls -l'))).toEqual([]);
    expect(t.input(b('x\x7f /tmp\r'))).toEqual([{ kind: 'line', text: 'ls -l /tmp', enterAt: 7 }]);
    expect(t.input(b('rm -rf /\x15echo hi\rwhoami\r'))).toEqual([
      { kind: 'line', text: 'echo hi', enterAt: 16 }, { kind: 'line', text: 'whoami', enterAt: 23 },
    ]);
    expect(t.input(b('café\x7f\r'))).toEqual([{ kind: 'line', text: 'caf', enterAt: 6 }]);
  });

  it('says it cannot tell after history or completion keys', () => {
    const t = new TypedLines();
    expect(t.input(b('\x1b[A\r'))).toEqual([{ kind: 'unknown', enterAt: 3 }]);
    expect(t.input(b('rm -r\t\r'))).toEqual([{ kind: 'unknown', enterAt: 6 }]);
    expect(t.input(b('ls\r'))).toEqual([{ kind: 'line', text: 'ls', enterAt: 2 }]);
  });

  it('never reports a line typed at a password prompt', () => {
    const t = new TypedLines();
    t.output(b('[sudo] password for ops: '));
    expect(t.input(b('hunter2\r'))).toEqual([{ kind: 'masked', enterAt: 7 }]);
    t.output(b('$ '));
    expect(t.input(b('id\r'))).toEqual([{ kind: 'line', text: 'id', enterAt: 2 }]);
  });

  it('replaces a denied Enter with Ctrl-C and forwards the rest', () => {
    const t = new TypedLines();
    const r = gateTypedInput(t, b('ls\rreboot\rid\r'), (cmd) => (cmd.kind === 'line' && cmd.text === 'reboot'
      ? { verdict: 'deny', message: 'reboot is not allowed', rule: 't' } : { verdict: 'allow' }));
    expect(Buffer.concat(r.forward).toString()).toBe('ls\rreboot\x03id\r');
    expect(r.refusals).toEqual(['reboot is not allowed']);
  });
});
