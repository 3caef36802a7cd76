// Shell code a shell reads from stdin without a terminal (`echo cmd | ssh host`, `ssh host bash -s
// < script`) passes the gate line by line before it is forwarded: split points inside a line,
// continuation, NULs bash drops, the last line without a newline at EOF, a line too long to keep,
// and which exec commands read shell code from stdin at all.
import { describe, expect, it } from 'vitest';
import { readsShellStdin } from '../../gateway/rules/command/command-line.js';
import { commandMatcher } from '../../gateway/rules/command-matcher.js';
import type { GateCommand, GateVerdict } from '../../gateway/session/gate.js';
import { StdinLineGate } from '../../gateway/session/stdin-line-gate.js';
import type { RuleRecord } from '../../gateway/store/records.js';

function rule(match: string): RuleRecord {
  return { id: 'rul_1', name: 'no-rm', kind: 'command', class: null, match, action: 'deny', targets: [], roles: [], levels: [], message: 'no', unparsable: 'deny', createdAt: 0, createdBy: 't' };
}

function rig(): { gate: StdinLineGate; sent: () => string; said: string[]; ended: () => boolean; checked: string[] } {
  const m = commandMatcher([rule('glob:rm -rf *')]);
  const out: Buffer[] = [];
  const said: string[] = [];
  const checked: string[] = [];
  let ended = false;
  const check = (cmd: GateCommand): GateVerdict => {
    if (cmd.kind === 'line') checked.push(cmd.text);
    return m.hits(cmd).length > 0 ? { verdict: 'deny', message: 'no rm', rule: 'no-rm' } : { verdict: 'allow' };
  };
  const gate = new StdinLineGate({ forward: (b) => out.push(Buffer.from(b)), say: (t) => said.push(t), end: () => { ended = true; }, check });
  return { gate, sent: () => Buffer.concat(out).toString('latin1'), said, ended: () => ended, checked };
}

describe('stdin line gate', () => {
  it('forwards allowed lines whole, stops at a denied one and closes the target\'s stdin', () => {
    const r = rig();
    r.gate.input(Buffer.from('echo a\nls'));
    expect(r.sent()).toBe('echo a\n');
    r.gate.input(Buffer.from(' -l\nrm -r'));
    expect(r.sent()).toBe('echo a\nls -l\n');
    r.gate.input(Buffer.from('f /tmp/x\necho after\n'));
    expect(r.sent()).toBe('echo a\nls -l\n');
    expect(r.said).toEqual(['no rm']);
    expect(r.ended()).toBe(true);
    r.gate.input(Buffer.from('echo later\n'));
    r.gate.end();
    expect(r.sent()).toBe('echo a\nls -l\n');
  });

  it('checks a continued line joined, a line with NULs as bash reads it, and the last line at EOF', () => {
    const cont = rig();
    cont.gate.input(Buffer.from('r\\\nm -rf /tmp/x\n'));
    expect(cont.sent()).toBe('r\\\n');
    expect(cont.said).toEqual(['no rm']);
    const nul = rig();
    nul.gate.input(Buffer.from('r\0m -rf /tmp/x\n', 'latin1'));
    expect(nul.sent()).toBe('');
    expect(nul.said).toEqual(['no rm']);
    const last = rig();
    last.gate.input(Buffer.from('echo ok\nrm -rf /tmp/x'));
    expect(last.sent()).toBe('echo ok\n');
    last.gate.end();
    expect(last.sent()).toBe('echo ok\n');
    expect(last.said).toEqual(['no rm']);
    const fine = rig();
    fine.gate.input(Buffer.from('echo ok'));
    fine.gate.end();
    expect(fine.sent()).toBe('echo ok');
    expect(fine.ended()).toBe(true);
  });

  it('a line too long to keep is checked as it is (unparsable: denied), not forwarded unread', () => {
    const r = rig();
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    for (let i = 0; i < 6 && r.said.length === 0; i++) r.gate.input(chunk);
    expect(r.said).toEqual(['no rm']);
    expect(r.sent()).toBe('');
  });

  it('an open quote is checked once it closes, without a parse per line (200 KB of quoted lines stay cheap)', () => {
    const r = rig();
    const t0 = Date.now();
    r.gate.input(Buffer.from('echo "\n'));
    const chunk = Buffer.from('abcdefghi\n'.repeat(1000));
    for (let i = 0; i < 20; i++) r.gate.input(chunk);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r.checked).toEqual([]);
    // Closed: the whole (over 64 KiB) is one command, unparsable, refused by the deny rule.
    r.gate.input(Buffer.from('"; rm -rf /tmp/x\n'));
    expect(r.said).toEqual(['no rm']);
    const small = rig();
    small.gate.input(Buffer.from('echo "a\nb"; rm -rf /tmp/x\n'));
    expect(small.said).toEqual(['no rm']);
    expect(small.sent()).toBe('echo "a\n');
  });

  it('knows which exec commands read shell code from stdin', () => {
    for (const c of ['bash -s', 'sh', 'bash', 'sudo -i', 'sudo -s', 'su -', 'exec bash', 'xargs -I{} sh -c {}', 'bash -c "$(cat)"', '$SHELL', '/bin/ba?h', 'busybox sh', 'env bash', 'cd /tmp && dash']) {
      expect(readsShellStdin(c), c).toBe(true);
    }
    for (const c of ['cat > /tmp/f', 'tar xzf - -C /tmp', 'ls -l', 'grep -c x', 'python3 -c "print(1)"']) {
      expect(readsShellStdin(c), c).toBe(false);
    }
  });
});
