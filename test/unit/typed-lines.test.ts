// Lines typed at an interactive prompt, as the keys tell them (the line gate reads the screen
// too): plain typing with editing keys is reported, history and completion make a line unknown,
// password prompts are never reported.
import { describe, expect, it } from 'vitest';
import { TypedLines } from '../../gateway/session/typed-lines.js';

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
    expect(t.input(b('\x1b[A\r'))).toEqual([{ kind: 'unknown', enterAt: 3, keys: '\x1b[A' }]);
    expect(t.input(b('rm -r\t\r'))).toEqual([{ kind: 'unknown', enterAt: 6, keys: 'rm -r\t' }]);
    expect(t.input(b('ls\r'))).toEqual([{ kind: 'line', text: 'ls', enterAt: 2 }]);
  });

  it('gives an unknown line\'s keys as a tty edits them (word erase, literal next), and again after a dropped Enter', () => {
    const t = new TypedLines();
    expect(t.input(b('rm -rf /x junk  \x17\r'))).toEqual([{ kind: 'unknown', enterAt: 17, keys: 'rm -rf /x ' }]);
    expect(t.input(b('\x16\x15rm\x7f\x7fls\r'))).toEqual([{ kind: 'unknown', enterAt: 8, keys: '\x15ls' }]);
    t.input(b('rm -rf /y\x1b[D'));
    expect(t.input(b('\r'))).toMatchObject([{ kind: 'unknown', keys: 'rm -rf /y\x1b[D' }]);
    t.again();
    expect(t.input(b('\r'))).toMatchObject([{ kind: 'unknown', keys: 'rm -rf /y\x1b[D' }]);
    expect(t.input(b('rm -rf /z\x04'))).toEqual([{ kind: 'line', text: 'rm -rf /z', enterAt: 9 }]);
  });

  it('never reports a line typed at a password prompt', () => {
    const t = new TypedLines();
    t.output(b('[sudo] password for ops: '));
    expect(t.input(b('hunter2\r'))).toEqual([{ kind: 'masked', enterAt: 7 }]);
    t.output(b('$ '));
    expect(t.input(b('id\r'))).toEqual([{ kind: 'line', text: 'id', enterAt: 2 }]);
  });
});
