// The line gate with a real @xterm/headless: the line a user submits is read from the screen the
// target drew (bytes in the shapes bash/readline writes them: history recall, cursor moves,
// deletes and inserts, tab completion, reverse-i-search, wrapped long lines, UTF-8 and escape
// sequences split across chunks), its Enter held until then, forwarded when allowed, replaced by
// Ctrl-C and a message when denied. Secrets typed at a password prompt never reach a rule.
import { describe, expect, it } from 'vitest';
import { LineGate, MAX_HOLD_MS } from '../../gateway/session/line-gate.js';
import type { GateCommand, GateVerdict } from '../../gateway/session/gate.js';

interface Rig { idle(): Promise<void>; gate: LineGate; sent: () => string; said: string[]; checked: string[]; output(s: string | Buffer): void; input(s: string | Buffer): void }

function rig(cols = 80, rows = 24): Rig {
  const forwarded: Buffer[] = [];
  const said: string[] = [];
  const checked: string[] = [];
  const check = (cmd: GateCommand): GateVerdict => {
    if (cmd.kind !== 'line') return { verdict: 'allow' };
    checked.push(cmd.text);
    return /rm -rf|shutdown/.test(cmd.text) ? { verdict: 'deny', message: 'not here', rule: 't' } : { verdict: 'allow' };
  };
  const gate = new LineGate({ forward: (b) => forwarded.push(Buffer.from(b)), say: (t) => said.push(t), pause: () => {}, resume: () => {}, check }, cols, rows);
  return {
    gate, said, checked,
    // The held Enter was decided (bounded: the gate never holds longer than MAX_HOLD_MS).
    idle: async () => { const t0 = Date.now(); while (gate.holding && Date.now() - t0 < 2000) await settle(5); },
    sent: () => Buffer.concat(forwarded).toString('utf8'),
    output: (s) => gate.output(Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8')),
    input: (s) => gate.input(Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8')),
  };
}

const settle = (ms = 120): Promise<void> => new Promise((r) => setTimeout(r, ms));
const PROMPT = 'ops@web01:~$ ';

describe('line gate', () => {
  it('forwards an allowed line and holds its Enter until the echo is drawn', async () => {
    const r = rig();
    r.output(PROMPT);
    await settle(20);
    r.input('ls -l\r');
    expect(r.sent()).toBe('ls -l');
    r.output('ls -l');
    await r.idle();
    expect(r.sent()).toBe('ls -l\r');
    expect(r.checked).toContain('ls -l');
  });

  it('reads a history line edited with Up, Home, Delete and typing (what the keys alone cannot tell)', async () => {
    const r = rig();
    r.output(PROMPT);
    await settle(20);
    r.input('\x1b[A');
    r.output('ls /tmp/x');
    r.input('\x1b[H');
    r.output('\r' + PROMPT);
    r.input('\x1b[3~\x1b[3~');
    r.output('\x1b[P\x1b[P');
    r.input('rm -rf');
    // readline inserting: the new text, then the rest of the line redrawn and the cursor put back.
    r.output('rm -rf /tmp/x\b\b\b\b\b\b\b');
    await settle(20);
    r.input('\r');
    await r.idle();
    expect(r.checked[0]).toBe('rm -rf /tmp/x');
    expect(r.sent()).not.toContain('\r');
    expect(r.sent().endsWith('\x03')).toBe(true);
    expect(r.said).toEqual(['not here']);
  });

  it('reads a line finished by tab completion, and Ctrl-A/E/U/W edits', async () => {
    const r = rig();
    r.output(PROMPT);
    await settle(20);
    r.input('rm -rf /tmp/pcg\t');
    r.output('rm -rf /tmp/pcg');
    r.output('123-dir/');
    await settle(20);
    r.input('\r');
    await r.idle();
    expect(r.checked[0]).toBe('rm -rf /tmp/pcg123-dir/');
    r.output('^C\r\n' + PROMPT);
    await settle(20);
    // Ctrl-U clears, Ctrl-W deletes a word: the screen is what counts.
    r.input('echo a b\x17');
    r.output('echo a b\b \b');
    // Ctrl-A then Ctrl-E a moment later (readline draws the cursor moves), Enter.
    r.input('\x01');
    r.output('\r\x1b[13C');
    await settle(60);
    r.input('\x05');
    r.output('\x1b[6C');
    await settle(60);
    r.input('\x05\r');
    await r.idle();
    expect(r.checked).toContain('echo a');
    expect(r.sent().endsWith('\r')).toBe(true);
  });

  it('reads the match of a reverse-i-search', async () => {
    const r = rig();
    r.output(PROMPT);
    await settle(20);
    r.input('\x12rm');
    r.output("\r\x1b[K(reverse-i-search)`rm': rm -rf /tmp/x\x1b[13D");
    await settle(20);
    r.input('\r');
    await r.idle();
    expect(r.checked[0]).toBe('rm -rf /tmp/x');
    expect(r.said).toEqual(['not here']);
  });

  it('reads a long line wrapped over rows, with UTF-8 and escape sequences split across chunks', async () => {
    const r = rig(20, 5);
    r.output(PROMPT);
    await settle(20);
    const line = 'echo ' + 'é'.repeat(12) + '; rm -rf /x';
    r.input(line);
    const bytes = Buffer.from(line, 'utf8');
    // Echo split inside a multi-byte character and inside a CSI sequence.
    r.output(bytes.subarray(0, 7));
    r.output(bytes.subarray(7));
    r.output('\x1b[');
    r.output('K');
    await settle(20);
    r.input('\r');
    await r.idle();
    expect(r.checked[0]).toBe(line);
    expect(r.said).toEqual(['not here']);
  });

  it('drops what was typed after a denied Enter, and checks the next lines after an allowed one', async () => {
    const r = rig();
    r.output(PROMPT);
    await settle(20);
    r.input('id\rshutdown -h now\rwhoami\r');
    r.output('id');
    await r.idle();
    // Typed ahead: the next line's keys reach the shell before its prompt is drawn.
    r.output('\r\nuid=0(root)\r\n' + PROMPT + 'shutdown -h now');
    await r.idle();
    expect(r.sent()).toBe('id\rshutdown -h now\x03');
    expect(r.checked[0]).toBe('id');
    expect(r.said).toEqual(['not here']);
  });

  it('never gives a line typed at a password prompt to a rule, and passes Enter on the alternate screen', async () => {
    const r = rig();
    r.output('[sudo] password for ops: ');
    await settle(20);
    r.input('rm -rf hunter2\r');
    await r.idle();
    expect(r.checked.some((t) => t.includes('hunter2'))).toBe(false);
    expect(r.sent()).toBe('rm -rf hunter2\r');
    r.output('\x1b[?1049h~\r\n~\r\n');
    await settle(20);
    r.input('rm -rf x\r');
    r.output('rm -rf x');
    await r.idle();
    expect(r.sent()).toBe('rm -rf hunter2\rrm -rf x\r');
  });

  it('checks a continued line joined with the next (r\\ Enter m -rf x runs rm -rf x)', async () => {
    const r = rig();
    r.output(PROMPT);
    await settle(20);
    r.input('r\\\r');
    r.output('r\\');
    await r.idle();
    expect(r.sent()).toBe('r\\\r');
    r.output('\r\n> ');
    await settle(20);
    r.input('m -rf /x\r');
    r.output('m -rf /x');
    await r.idle();
    expect(r.checked).toContain('rm -rf /x');
    expect(r.said).toEqual(['not here']);
  });

  it('treats Ctrl-O and Ctrl-D as keys that can run the line', async () => {
    const r = rig();
    r.output(PROMPT);
    await settle(20);
    r.input('rm -rf /x\x0f');
    r.output('rm -rf /x');
    await r.idle();
    expect(r.sent()).toBe('rm -rf /x\x03');
    r.output('^C\r\n' + PROMPT);
    await settle(20);
    r.input('shutdown\x04');
    r.output('shutdown');
    await r.idle();
    expect(r.sent()).toBe('rm -rf /x\x03shutdown\x03');
  });

  it('does not run a line on a guess when history keys got no answer in time (press Enter again)', async () => {
    const r = rig();
    r.output(PROMPT);
    await settle(20);
    r.input('\x1b[A\r');
    await r.idle();
    expect(r.sent()).toBe('\x1b[A');
    expect(r.said[0]).toMatch(/press Enter again/);
    r.output('rm -rf /x');
    await settle(20);
    r.input('\r');
    await r.idle();
    expect(r.said[1]).toBe('not here');
  });

  it('bounds the hold when the target never answers', async () => {
    const r = rig();
    r.output(PROMPT);
    await settle(20);
    const t0 = Date.now();
    r.input('rm -rf /\r');
    while (r.said.length === 0 && Date.now() - t0 < 2000) await settle(10);
    // No echo: the keys typed (plain typing) are checked, so a silent target does not let it by.
    expect(r.said).toEqual(['not here']);
    expect(Date.now() - t0).toBeLessThan(1000);
    r.gate.close();
  });

  it('a tty without echo runs the keys as its line discipline takes them: word erase, literal next, a retried Enter, Ctrl-D', async () => {
    // dash after `stty -echo`: nothing is drawn; Ctrl-W erases `junk`, so the tty delivers `rm -rf /x `.
    const werase = rig();
    werase.output(PROMPT);
    await settle(20);
    werase.input('rm -rf /x junk\x17\r');
    await werase.idle();
    // Unanswered keys and no plain reading: not run on a guess...
    expect(werase.said).toEqual(['the line could not be read from the terminal in time; press Enter again']);
    await settle(MAX_HOLD_MS + 20);
    // ...and the Enter pressed again still knows those keys (the screen has nothing to read).
    werase.input('\r');
    await werase.idle();
    expect(werase.said[1]).toBe('not here');
    expect(werase.sent()).not.toContain('\r');
    // Ctrl-V makes the next key literal; it hides nothing.
    const lnext = rig();
    lnext.output(PROMPT);
    await settle(20);
    lnext.input('\x16rm -rf /x\r');
    await lnext.idle();
    await settle(MAX_HOLD_MS + 20);
    lnext.input('\r');
    await lnext.idle();
    expect(lnext.said.at(-1)).toBe('not here');
    // Ctrl-D hands a cooked-mode shell its partial line: checked as typed.
    const eof = rig();
    eof.output(PROMPT);
    await settle(20);
    eof.input('rm -rf /x\x04');
    await eof.idle();
    expect(eof.said).toEqual(['not here']);
    expect(eof.sent()).not.toContain('\x04');
  });
});
