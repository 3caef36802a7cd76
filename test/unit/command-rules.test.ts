// Command rules on SSH command lines: the shell-word splitter (quoting, separators, substitutions,
// wrappers, every split point of multi-byte input) and the glob and regex matching, tried with the
// evasions a user with a valid grant would try first.
import { describe, expect, it } from 'vitest';
import { commandText, readCommandLine } from '../../gateway/rules/command/command-line.js';
import { printable } from '../../gateway/rules/command/printable.js';
import { splitCommands } from '../../gateway/rules/command/shell-words.js';
import { globMatch } from '../../gateway/rules/command/word-glob.js';
import { commandMatcher } from '../../gateway/rules/command-matcher.js';
import type { RuleRecord } from '../../gateway/store/records.js';

const cmds = (line: string): string[] => readCommandLine(line).commands.map(commandText);
const words = (line: string): string[][] => splitCommands(line).commands.map((c) => c.map((w) => w.text));

function rule(name: string, match: string, action: 'deny' | 'flag' = 'deny'): RuleRecord {
  return { id: `rul_${name}`, name, kind: 'command', class: null, match, action, targets: [], roles: [], levels: [], message: null, unparsable: action === 'deny' ? 'deny' : 'allow', createdAt: 0, createdBy: 't' };
}
const hit = (match: string, line: string): boolean => commandMatcher([rule('r', match)]).hits({ kind: 'exec', command: line }).length > 0;

describe('shell words', () => {
  it('removes quoting the way the shell does', () => {
    expect(words(`'r'm "-rf" r\\m $'\\x72\\x6d' $'\\162m' "a b"'c'`)).toEqual([['rm', '-rf', 'rm', 'rm', 'rm', 'a bc']]);
    expect(words('echo "x\\"y" \'a\\b\'')).toEqual([['echo', 'x"y', 'a\\b']]);
  });

  it('splits on every separator and finds commands in substitutions and subshells', () => {
    expect(words('a;b&&c||d|e&f\ng')).toEqual([['a'], ['b'], ['c'], ['d'], ['e'], ['f'], ['g']]);
    expect(cmds('echo $(rm -rf /x) `shutdown -h now` "$(reboot)" <(halt)')).toEqual(
      expect.arrayContaining(['rm -rf /x', 'shutdown -h now', 'reboot', 'halt']));
    expect(cmds('(cd /; rm -rf x)')).toEqual(['cd /', 'rm -rf x']);
    expect(cmds('{ rm -rf x; }')).toEqual(['rm -rf x']);
  });

  it('drops redirections, comments, assignments and wrappers; reduces the command to its basename', () => {
    expect(cmds('LANG=C /bin/rm -rf /x 2>/dev/null >out # rm nothing')).toEqual(['rm -rf /x']);
    expect(cmds('sudo -u root -- nice -n 5 timeout 10 env -i A=1 /usr/bin/rm -rf /')).toEqual(['rm -rf /']);
    expect(cmds('nohup ionice -c 3 stdbuf -o0 xargs -I{} busybox rm -rf {}')).toEqual(['rm -rf {}']);
    expect(cmds('command -v rm')).toEqual([]);
  });

  it('reads shell code run as a string', () => {
    expect(cmds(`bash -c 'rm -rf /x'`)).toContain('rm -rf /x');
    expect(cmds(`sh -lc "sudo sh -c 'shutdown -h now'"`)).toContain('shutdown -h now');
    expect(cmds(`su - root -c 'reboot'`)).toContain('reboot');
    expect(cmds(`eval 'rm' '-rf' x`)).toContain('rm -rf x');
    expect(cmds('find / -name x -exec rm -rf {} \\;')).toContain('rm -rf {}');
    expect(cmds(`env -S 'rm -rf /'`)).toContain('rm -rf /');
  });

  it('expands braces', () => {
    expect(cmds('{rm,-rf,/tmp/x}')).toEqual(['rm -rf /tmp/x']);
    expect(cmds('echo a{b,c}d {x}')).toEqual(['echo abd acd {x}']);
  });

  it('never crashes on bad input and marks what it cannot read', () => {
    for (const s of ['"', "'", '$(', '`', '\\', '$((', '<(', ')))', '${', '[', '\x00\x1b[A', '\u{1F600}'.repeat(3), '$\'\\x', '$\'\\u']) {
      expect(() => readCommandLine(s)).not.toThrow();
    }
    expect(readCommandLine('echo "abc').incomplete).toBe(true);
    expect(readCommandLine('x'.repeat(70_000)).unparsable).toBe(true);
    expect(readCommandLine('$('.repeat(40)).unparsable).toBe(true);
    expect(readCommandLine('{a,b}'.repeat(20)).unparsable).toBe(true);
  });

  it('terminates on random shell-ish input (a seeded fuzz of the metacharacters)', () => {
    const alphabet = ['{', '}', ',', '(', ')', '$', "'", '"', '`', '\\', ';', '|', '&', '<', '>', '#', ' ', '\n', '*', '?', '[', ']', 'a', 'rm', '-rf', '=', 'é', '\x00'];
    let seed = 7;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    for (let k = 0; k < 3000; k++) {
      let s = '';
      for (let j = rnd(40); j > 0; j--) s += alphabet[rnd(alphabet.length)]!;
      expect(() => readCommandLine(s)).not.toThrow();
    }
  });

  it('reads multi-byte input the same whichever code unit a split falls on (never crashes)', () => {
    const line = 'echo "日本語 ü" ; rm -rf /tmp/é 😀';
    for (let i = 0; i <= line.length; i++) {
      const a = line.slice(0, i);
      const b = line.slice(i);
      expect(() => readCommandLine(a)).not.toThrow();
      expect(() => readCommandLine(b)).not.toThrow();
    }
    expect(cmds(line)).toEqual(['echo 日本語 ü', 'rm -rf /tmp/é 😀']);
    const bytes = Buffer.from(line, 'utf8');
    for (let i = 0; i <= bytes.length; i++) {
      // A line decoded from a cut buffer (replacement characters) still reads.
      expect(() => readCommandLine(bytes.subarray(0, i).toString('utf8'))).not.toThrow();
    }
  });
});

describe('word glob', () => {
  it('matches *, ?, and sets', () => {
    expect(globMatch('shutdown*', 'shutdown')).toBe(true);
    expect(globMatch('r?', 'rm')).toBe(true);
    expect(globMatch('[rR]m', 'Rm')).toBe(true);
    expect(globMatch('[!r]m', 'rm')).toBe(false);
    expect(globMatch('*a*b*c*', 'xaybzc')).toBe(true);
    expect(globMatch('*a*a*a*a*a*b', 'a'.repeat(5000))).toBe(false);
    expect(globMatch('[', '[')).toBe(true);
  });
});

describe('command rules', () => {
  it('rm -rf * matches the spellings of a recursive forced remove', () => {
    for (const l of ['rm -rf /tmp/x a b', 'rm -fr /x', 'rm -r -f /x', 'rm -Rf /x', 'rm --recursive --force /x', 'rm -rfv /x', 'rm -rf',
      '/bin/rm -rf /x', "'r'm -rf /x", 'r\\m -rf /x', '"rm" -r -f x', 'sudo rm -rf /', '{rm,-rf,/x}', '/???/r? -rf /x', 'X=rm; $X -rf /x',
      '$(echo rm) -rf /x', `bash -c "rm -rf /x"`, 'ls; rm -rf /x', 'echo `rm -rf /x`', 'find /x -exec rm -rf {} +']) {
      expect(hit('rm -rf *', l), l).toBe(true);
    }
    for (const l of ['rm -r /x', 'rm -f x', 'echo rm -rf /x', 'ls -rf', "echo 'rm -rf /x'", 'grep -rf rm x']) {
      expect(hit('glob:rm -rf *', l), l).toBe(false);
    }
  });

  it('shutdown* and iptables -F (a prefix: more operands still match)', () => {
    expect(hit('glob:shutdown*', 'shutdown -h now')).toBe(true);
    expect(hit('glob:shutdown*', '/sbin/shutdown')).toBe(true);
    expect(hit('glob:shutdown*', 'echo shutdown')).toBe(false);
    expect(hit('glob:iptables -F', 'iptables -F')).toBe(true);
    expect(hit('glob:iptables -F', 'iptables -F INPUT')).toBe(true);
    expect(hit('glob:iptables -F', 'iptables -t nat --flush')).toBe(true);
    expect(hit('glob:iptables -F', 'iptables -L')).toBe(false);
    expect(hit('glob:iptables -F INPUT', 'iptables -t nat -F INPUT')).toBe(true);
    expect(hit('glob:iptables -F INPUT', 'iptables -F OUTPUT')).toBe(false);
    // A name from an expansion is matched only by patterns that say more than a name.
    expect(hit('glob:reboot', '$EDITOR notes')).toBe(false);
  });

  it('sees through $IFS splitting, group braces, and commands run over ssh', () => {
    for (const l of ['rm${IFS}-rf${IFS}x', 'function f { rm -rf x; }', 'ssh -p 22 h rm -rf x']) expect(hit('glob:rm -rf *', l), l).toBe(true);
  });

  it('abbreviated long options (getopt_long) and more wrappers (pkexec, setpriv, unshare, nsenter, fakeroot, sg, parallel)', () => {
    for (const l of ['rm --rec --f x', 'rm --r --for x', 'rm -r --fo x', 'pkexec --user root rm -rf x', 'setpriv --reuid 0 rm -rf x', 'unshare -r rm -rf x',
      'nsenter -t 1 -m rm -rf x', 'fakeroot rm -rf x', 'catchsegv rm -rf x', 'sg root "rm -rf x"', 'sg root -c "rm -rf x"', 'parallel -j2 rm -rf ::: x']) {
      expect(hit('glob:rm -rf *', l), l).toBe(true);
    }
    expect(hit('glob:iptables -F', 'iptables --fl')).toBe(true);
    expect(hit('glob:rm -rf *', 'rm --recursive x')).toBe(false);
    expect(hit('glob:rm -rf *', 'rm -- -rf')).toBe(false);
  });

  it('refuses history expansion at a prompt under deny rules (what it becomes is not on the screen)', () => {
    const m = commandMatcher([rule('r', 'glob:rm -rf *')]);
    expect(m.hits({ kind: 'line', text: '!rm -f' })).toMatchObject([{ why: 'unparsable' }]);
    expect(m.hits({ kind: 'line', text: 'sudo !!' })).toMatchObject([{ why: 'unparsable' }]);
    expect(m.hits({ kind: 'line', text: "if ! true; then echo '!x'; fi" })).toEqual([]);
    expect(m.hits({ kind: 'exec', command: '!rm' })).toEqual([]);
  });

  it('matches an exec command as it runs up to a NUL (sshd passes a C string)', () => {
    expect(hit('glob:rm -rf /x', 'rm -rf /x\x00junk')).toBe(true);
    expect(hit('glob:rm -rf /x', 'rm -rf /y')).toBe(false);
  });

  it('regex: unanchored, case-sensitive, on the raw line and on each normalized command', () => {
    expect(hit('re:shutdown', 'sudo shutdown -h now')).toBe(true);
    expect(hit('re:SHUTDOWN', 'shutdown -h now')).toBe(false);
    expect(hit('re:^rm -rf', "ls; 'r'm -rf /x")).toBe(true);
    // Both: the default reads the pattern either way.
    expect(hit('shutdown*', 'X=shutdown; $X -h now')).toBe(true);
  });

  it('a line it cannot read hits deny rules as unparsable, and hits say what matched, escaped', () => {
    const m = commandMatcher([rule('big', 'glob:rm -rf *')]);
    expect(m.hits({ kind: 'exec', command: 'x'.repeat(70_000) })).toMatchObject([{ why: 'unparsable' }]);
    const h = m.hits({ kind: 'exec', command: 'rm -rf /x\x00\x1b[2J' });
    expect(h[0]?.what).toBe('rm -rf /x\\x00\\x1b[2J');
    expect(m.hits({ kind: 'channel', type: 'shell' })).toEqual([]);
  });

  it('escapes control and invisible characters for display', () => {
    expect(printable('a\x00b\x1bc\u202ed\n')).toBe('a\\x00b\\x1bc\\u{202e}d\\n');
  });
});

describe('records of commands', () => {
  it('show control characters of exec commands and lines escaped', async () => {
    const { describeCommand } = await import('../../gateway/session/gate.js');
    expect(describeCommand({ kind: 'exec', command: 'rm\x00 -rf\x1b[2J /' })).toBe('rm\\u{0} -rf\\u{1b}[2J /');
    expect(describeCommand({ kind: 'line', text: 'a\u202eb' })).toBe('a\\u{202e}b');
  });
});
