// Recording a channel without a terminal: the pipe cast writer (input whole, stdout and stderr
// apart, every split point of a multi-byte character, the session's input and output caps), how
// such a cast is shown (cast-display.ts: keyframes and player windows agree), and which exec
// commands count as file transfers (wire/transfer-command.ts), bypass attempts included.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CastEvent, readCast } from '../../recorder/asciicast-reader.js';
import { displayEvent, displayFor, isPipeCast } from '../../recorder/cast-display.js';
import { FileSink } from '../../recorder/file-sink.js';
import { buildKeyframes, screenAt } from '../../recorder/keyframes.js';
import { PipeBudget, PipeCastWriter } from '../../recorder/pipe-cast-writer.js';
import { inputBytes } from '../../recorder/input-decoder.js';
import { playerWindow } from '../../gateway/http/player-windows.js';
import { shellWords, transferKind } from '../../gateway/ssh/wire/transfer-command.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'portcullis-pipe-'));

interface Run { path: string; events: CastEvent[]; header: Record<string, unknown>; refusals: string[]; accepted: boolean[] }

async function record(drive: (w: PipeCastWriter) => boolean[] | void, caps = { input: 1 << 20, output: 1 << 20 }, keystrokes = true): Promise<Run> {
  const path = join(tmp(), 'ch-1.cast');
  const sink = new FileSink(path, { onError: (e) => { throw e; } });
  const refusals: string[] = [];
  const budget = new PipeBudget(caps.input, caps.output, (d) => refusals.push(d));
  let t = 0;
  const w = new PipeCastWriter(sink, { timestamp: 0, command: 'sh -s', portcullis: { session: 'ses_x', channel: 1 } }, () => (t += 10), budget, keystrokes);
  const accepted = drive(w) ?? [];
  w.end();
  await sink.close();
  const cast = await readCast(path);
  return { path, events: cast.events, header: cast.header, refusals, accepted };
}

const joined = (r: Run, code: string): string => r.events.filter((e) => e[1] === code).map((e) => e[2]).join('');

describe('the pipe cast writer', () => {
  it('writes a header that says there is no terminal, with a size to render at', async () => {
    const r = await record(() => {});
    expect(r.header).toMatchObject({ version: 2, width: 120, height: 40, command: 'sh -s', portcullis: { session: 'ses_x', channel: 1, pty: false } });
    expect(isPipeCast(r.header)).toBe(true);
  });

  it('keeps input, stdout and stderr apart and in order', async () => {
    const r = await record((w) => [w.input(Buffer.from('ls /nope\n')), (w.stderr(Buffer.from('ls: /nope: missing\n')), true), w.input(Buffer.from('echo hi\n')), (w.stdout(Buffer.from('hi\n')), true)]);
    expect(r.events.map((e) => [e[1], e[2]])).toEqual([['i', 'ls /nope\n'], ['e', 'ls: /nope: missing\n'], ['i', 'echo hi\n'], ['o', 'hi\n']]);
    expect(r.accepted).toEqual([true, true, true, true]);
  });

  it('keeps every byte of input that is not UTF-8 (a gzip piped to `gunzip | sh`), at every split point', async () => {
    // gzip magic, an invalid lead, overlong and surrogate encodings, a truncated sequence, and
    // characters whose UTF-16 low half is in the escape range (U+10080) around them.
    const bytes = Buffer.concat([Buffer.of(0x1f, 0x8b, 0x08, 0x00, 0xff, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xe2, 0x82),
      Buffer.from('rm -rf /srv/\u{10080}é\n'), Buffer.of(0xf0, 0x9f, 0x9a), Buffer.from('x'), Buffer.of(0xe6, 0x97)]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const r = await record((w) => { w.input(bytes.subarray(0, cut)); w.input(bytes.subarray(cut)); });
      expect(inputBytes(joined(r, 'i')).equals(bytes), `split at ${cut}`).toBe(true);
    }
    for (let size = 1; size <= 3; size++) {
      const r = await record((w) => { for (let i = 0; i < bytes.length; i += size) w.input(bytes.subarray(i, i + size)); });
      expect(inputBytes(joined(r, 'i')).equals(bytes), `chunks of ${size}`).toBe(true);
    }
  });

  it('never splits a multi-byte character on any stream, whatever the read boundaries', async () => {
    const text = 'grep "wörld 🚀 日本語" /etc/motd\n';
    const bytes = Buffer.from(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      const r = await record((w) => {
        for (const part of [bytes.subarray(0, cut), bytes.subarray(cut)]) { w.input(part); w.stdout(part); w.stderr(part); }
      });
      for (const code of ['i', 'o', 'e']) expect(joined(r, code), `${code} split at ${cut}`).toBe(text);
    }
  });

  it('accepts input up to the cap exactly, refuses the chunk that would pass it and everything after, once', async () => {
    const r = await record((w) => [w.input(Buffer.alloc(60, 'a')), w.input(Buffer.alloc(40, 'b')), w.input(Buffer.alloc(1, 'c')), w.input(Buffer.alloc(1, 'd'))], { input: 100, output: 100 });
    expect(r.accepted).toEqual([true, true, false, false]);
    expect(joined(r, 'i')).toBe('a'.repeat(60) + 'b'.repeat(40));
    expect(r.refusals).toHaveLength(1);
    expect(r.refusals[0]).toMatch(/cap of 100 bytes \(100 recorded, 1 more refused\)/);
    expect(r.events.filter((e) => e[1] === 'm').map((e) => e[2])).toEqual(['input refused: 1 bytes over the 100-byte cap', 'input refused: 1 bytes over the 100-byte cap']);
  });

  it('one big chunk over the cap is refused whole: nothing of it is recorded, so nothing of it may be sent', async () => {
    const r = await record((w) => [w.input(Buffer.alloc(101, 'x'))], { input: 100, output: 100 });
    expect(r.accepted).toEqual([false]);
    expect(joined(r, 'i')).toBe('');
  });

  it('stops writing output past the output cap, counted as stored, with one marker, and goes on taking input', async () => {
    // Each event line is 18 bytes around its data here: 98 + 48 fit in 150, the next 28 do not.
    const r = await record((w) => {
      w.stdout(Buffer.alloc(80, 'o'));
      w.stderr(Buffer.alloc(30, 'e'));
      w.stdout(Buffer.alloc(10, 'O'));
      w.stderr(Buffer.alloc(10, 'E'));
      return [w.input(Buffer.from('still here\n'))];
    }, { input: 100, output: 150 });
    expect(joined(r, 'o')).toBe('o'.repeat(80));
    expect(joined(r, 'e')).toBe('e'.repeat(30));
    expect(r.events.filter((e) => e[1] === 'm').map((e) => e[2])).toEqual(['output not recorded past 150 bytes (byte counts and SHA-256 in events.ndjson)']);
    expect(joined(r, 'i')).toBe('still here\n');
  });

  it('counts binary output as the JSON that stores it', async () => {
    const r = await record((w) => { for (let i = 0; i < 100; i++) w.stdout(Buffer.alloc(1000)); }, { input: 100, output: 60_000 });
    expect(statSync(r.path).size).toBeLessThan(60_000 + 1000);
    expect(joined(r, 'o').length).toBeLessThan(10_000);
  });

  it('shares one budget between the channels of a session', () => {
    const refused: string[] = [];
    const budget = new PipeBudget(10, 10, (d) => refused.push(d));
    expect(budget.takeInput(6)).toBe(true);
    expect(budget.takeInput(5)).toBe(false);
    budget.refuse(5);
    budget.refuse(5);
    expect(refused).toHaveLength(1);
    expect(budget.takeInput(1)).toBe(false);
  });

  it('records no input when the policy turns keystrokes off, and does not count it', async () => {
    const r = await record((w) => [w.input(Buffer.alloc(200, 'k')), (w.stdout(Buffer.from('out\n')), true)], { input: 100, output: 100 }, false);
    expect(r.accepted).toEqual([true, true]);
    expect(joined(r, 'i')).toBe('');
    expect(joined(r, 'o')).toBe('out\n');
  });
});

describe('showing a pipe cast', () => {
  it('renders input green with control characters visible, stdout as is, stderr red, bare newlines as CRLF', () => {
    expect(displayEvent(true, [1, 'i', 'rm -rf /tmp/x #\u001b[2K\rls\n'])).toEqual([1, 'o', '\u001b[32mrm -rf /tmp/x #^[[2K^Mls\r\n\u001b[39m']);
    expect(displayEvent(true, [1, 'o', 'a\nb\r\n'])).toEqual([1, 'o', 'a\r\nb\r\n']);
    expect(displayEvent(true, [1, 'e', 'oops\n'])).toEqual([1, 'o', '\u001b[31moops\r\n\u001b[39m']);
    expect(displayEvent(true, [1, 'm', 'exit 0'])).toEqual([1, 'm', 'exit 0']);
  });

  it('leaves a terminal cast exactly as recorded', () => {
    const show = displayFor({ version: 2, width: 80, height: 24, portcullis: { session: 's' } });
    for (const e of [[1, 'i', 'ls\r'], [1, 'o', 'a\nb'], [1, 'e', 'x']] as CastEvent[]) expect(show(e)).toBe(e);
    expect(isPipeCast(null)).toBe(false);
    expect(isPipeCast({ portcullis: { pty: true } })).toBe(false);
  });

  it('builds keyframes and player windows from the same view: the commands are on the screen', async () => {
    const r = await record((w) => {
      w.input(Buffer.from('echo one\n'));
      w.stdout(Buffer.from('one\n'));
      w.input(Buffer.from('false\n'));
      w.stderr(Buffer.from('failed\n'));
    });
    const cast = await readCast(r.path);
    const frames = await buildKeyframes(cast, 0.005);
    const term = await screenAt(cast, frames, 1);
    const screen = Array.from({ length: 4 }, (_, y) => term.buffer.active.getLine(y)?.translateToString(true) ?? '');
    term.dispose();
    expect(screen).toEqual(['echo one', 'one', 'false', 'failed']);
    const window = await playerWindow(r.path, 0, 60);
    expect(window.events.every((e) => e[1] === 'o' || e[1] === 'm')).toBe(true);
    expect(window.events.map((e) => e[2]).join('')).toContain('\u001b[32mecho one\r\n\u001b[39mone\r\n');
    // The file itself keeps the exact streams.
    expect(readFileSync(r.path, 'utf8')).toContain('"i","echo one\\n"]');
    expect(joined(r, 'i')).toBe('echo one\nfalse\n');
  });
});

describe('which exec commands are file transfers', () => {
  it('recognises what scp (legacy protocol) and rsync send', () => {
    for (const c of ['scp -t -- /tmp/x', 'scp -v -r -p -d -t -- /tmp/dir', 'scp -f -- /var/log/syslog', 'scp -t /tmp/x', "scp -f -- '/tmp/a file'",
      'scp -pt -- "/tmp/quoted dir"', 'scp -f -- /tmp/*.log', '/usr/bin/scp -t /tmp/x']) expect(transferKind(c), c).toBe('scp');
    for (const c of ['rsync --server -vlogDtpre.iLsfxCIvu . /tmp/dest', 'rsync --server --sender -vlogDtpre.iLsfxCIvu . /tmp/src\\ dir',
      '/usr/bin/rsync --server -logDtpre.iLsfxCIvu . /tmp/x', '/usr/local/bin/rsync --server . /tmp/x', '/bin/rsync --server . x',
      // An `s` inside the -e value (compat flags) is not -s.
      'rsync --server -vlogDtpre.iLsfxCIvu -B1024 . x']) expect(transferKind(c), c).toBe('rsync');
  });

  it('does not take anything the shell would run more of for a transfer', () => {
    for (const c of [
      'scp -t /tmp/x; bash', 'scp -t /tmp/x && sh', 'scp -t /tmp/x || sh', 'scp -t /tmp/x | sh', 'scp -t /tmp/x & bash', 'scp -t /tmp/$(id)',
      'scp -t /tmp/`id`', 'scp -t "/tmp/$HOME"', 'scp -t "/tmp/`id`"', 'scp -t /tmp/x > /tmp/y', 'scp -t /tmp/x < /etc/passwd', 'scp -t /tmp/x\nbash',
      'scp -t /tmp/x\\\nbash', 'scp -t (bash)', "scp -t '/tmp/x", 'scp -t "/tmp/x', 'scp -t /tmp/x #', 'bash -c "scp -t x"', 'FOO=1 scp -t /tmp/x',
      'sh -c scp', 'scp /tmp/x', 'scp -t', 'scp -t --', 'scpx -t /tmp/x', './scp -t /tmp/x', 'rsync -av . /tmp/x', 'rsync', 'rsync --server; bash',
      'rsync --server --daemon .', 'rsync --server --daemon --config=/tmp/evil.conf .',
      // Protected args: the server reads its real argv from stdin, `--daemon --config=...` included
      // (checked against rsync 3.5.0: `rsync --server -s .` fed `rsync\0--daemon\0--config=F\0.\0\0` greets as @RSYNCD).
      'rsync --server -s .', 'rsync --server --sender -logDtprse.iLsfxCIvu -s . ', 'rsync --server -slogDtpre.iLsfxCIvu . x',
      'rsync --server -vs . x', 'rsync --server --protect-args . x', 'rsync --server --secluded-args . x', 'rsync --server . x -s',
      // A program named scp or rsync outside the system directories may be a shell the user uploaded.
      '/tmp/x/scp -t /tmp/x', '/home/alice/rsync --server . /tmp/x', '/usr/bin/../../tmp/x/scp -t /tmp/x', '/usr/bin//scp -t x',
      '/usr/bin/x/../scp -t x', "'/tmp/x/scp' -t /tmp/x", '/tmp/x/bin/scp -f x',
      'cat', 'bash', '', 'scp -t ' + 'x'.repeat(20_000),
    ]) expect(transferKind(c), JSON.stringify(c)).toBeNull();
  });

  it('splits shell words as the shell would for the shapes it accepts', () => {
    expect(shellWords(`scp -f -- '/a b'"c d"e\\ f`)).toEqual(['scp', '-f', '--', '/a bc de f']);
    expect(shellWords('a\tb  c')).toEqual(['a', 'b', 'c']);
    expect(shellWords('a $b')).toBeNull();
  });
});
