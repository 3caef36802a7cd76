import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AsciicastWriter } from '../../recorder/asciicast-writer.js';
import { FileSink } from '../../recorder/file-sink.js';
import { InputMasker } from '../../recorder/input-masker.js';
import { inputBytes } from '../../recorder/input-decoder.js';
import { StreamDigest } from '../../recorder/stream-digest.js';
import { parsePrincipal } from '../../gateway/session/principal.js';
import { RecordingLayout } from '../../recorder/layout.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'portcullis-rec-'));

async function castOf(chunks: Buffer[], inputs: Buffer[] = [], keystrokes = true): Promise<Array<[number, string, string]>> {
  const path = join(tmp(), 'x.cast');
  const sink = new FileSink(path, { onError: (e) => { throw e; } });
  let t = 0;
  const w = new AsciicastWriter(sink, { width: 80, height: 24, timestamp: 0 }, () => (t += 10), keystrokes);
  for (const c of chunks) w.output(c);
  for (const i of inputs) w.input(i);
  w.end();
  await sink.close();
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  expect(JSON.parse(lines[0]!)).toMatchObject({ version: 2, width: 80, height: 24 });
  return lines.slice(1).map((l) => JSON.parse(l) as [number, string, string]);
}

describe('the asciicast writer', () => {
  it('never splits a multi-byte character, whatever the read boundaries', async () => {
    const text = 'héllo → wörld 🚀 日本語\r\n';
    const bytes = Buffer.from(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      const events = await castOf([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(events.map((e) => e[2]).join(''), `split at ${cut}`).toBe(text);
      expect(events.every((e) => !e[2].includes('\uFFFD'))).toBe(true);
    }
  });

  it('keeps every byte of input that is not UTF-8 (raw mode, a gzip piped to `gunzip | sh`), at every split point', async () => {
    const bytes = Buffer.concat([Buffer.of(0x1f, 0x8b, 0x08, 0x00, 0xff, 0xc0, 0xaf, 0xed, 0xa0, 0x80), Buffer.from('id\r'), Buffer.of(0xe2, 0x82)]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const events = await castOf([Buffer.from('$ ')], [bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(inputBytes(events.filter((e) => e[1] === 'i').map((e) => e[2]).join('')).equals(bytes), `split at ${cut}`).toBe(true);
    }
  });

  it('records resizes, markers and times in seconds', async () => {
    const path = join(tmp(), 'y.cast');
    const sink = new FileSink(path, { onError: () => {} });
    let now = 1000;
    const w = new AsciicastWriter(sink, { width: 80, height: 24, timestamp: 1 }, () => now, true);
    now = 2500;
    w.resize(100, 30);
    w.marker('expiry warning');
    await sink.close();
    const ev = readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as unknown[]);
    expect(ev).toEqual([[1.5, 'r', '100x30'], [1.5, 'm', 'expiry warning']]);
  });

  it('masks input typed after a password prompt, and records nothing typed when keystrokes are off', async () => {
    const ev = await castOf([Buffer.from('[sudo] password for ops: ')], [Buffer.from('s3cr3t\r'), Buffer.from('ls\r')]);
    expect(ev.filter((e) => e[1] === 'i').map((e) => e[2])).toEqual(['******\r', 'ls\r']);
    expect(ev.some((e) => e[1] === 'm' && e[2] === 'masked input')).toBe(true);
    const off = await castOf([Buffer.from('$ ')], [Buffer.from('ls\r')], false);
    expect(off.filter((e) => e[1] === 'i')).toEqual([]);
  });
});

describe('the input masker', () => {
  it.each([
    'Password:', 'password for ops: ', 'Enter passphrase for key /root/.ssh/id: ', 'Verification code: ', 'Enter PIN: ',
    '\u001b[1mPassword:\u001b[0m ',
  ])('masks after "%s"', (prompt) => {
    const m = new InputMasker();
    m.output(prompt);
    expect(m.input('abc\r')).toMatchObject({ text: '***\r', masked: true });
    expect(m.input('next\r')).toMatchObject({ text: 'next\r', masked: false });
  });

  it('does not mask ordinary output that mentions passwords mid-line', () => {
    const m = new InputMasker();
    m.output('the password policy changed\r\n$ ');
    expect(m.input('ls\r').masked).toBe(false);
  });

  it('keeps masking across keystrokes until Enter, and keeps backspaces visible', () => {
    const m = new InputMasker();
    m.output('Password: ');
    expect(m.input('a').text).toBe('*');
    expect(m.input('b\x7f').text).toBe('*\x7f');
    expect(m.input('c\rdone').text).toBe('*\rdone');
  });
});

describe('the stream digest', () => {
  it.each([0, 1, 100, 64 * 1024, 64 * 1024 + 1, 128 * 1024, 128 * 1024 + 7, 1024 * 1024])('summarizes %i bytes exactly', (n) => {
    const data = Buffer.from(randomBytes(n).toString('hex').slice(0, n));
    const d = new StreamDigest();
    for (let i = 0; i < n; i += 1000 + (i % 7)) d.update(data.subarray(i, i + 1000 + (i % 7)));
    const s = d.summary();
    expect(s.bytes).toBe(n);
    expect(s.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    const edge = 64 * 1024;
    expect(s.head).toBe(data.subarray(0, edge).toString());
    if (n <= edge * 2) expect(s.head + s.tail).toBe(data.toString());
    else expect(s.tail).toBe(data.subarray(n - edge).toString());
    expect(s.truncated).toBe(n > edge * 2);
  });
});

describe('the file sink', () => {
  it('writes everything in order and fails once, loudly, when it falls too far behind', async () => {
    const path = join(tmp(), 'z.log');
    const sink = new FileSink(path, { onError: () => {} });
    for (let i = 0; i < 5000; i++) sink.write(`line ${i}\n`);
    await sink.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(5000);
    expect(lines[4999]).toBe('line 4999');
    const errors: string[] = [];
    const small = new FileSink(join(tmp(), 'w.log'), { maxPendingBytes: 100, flushMs: 10_000, onError: (e) => errors.push(e.message) });
    small.write('x'.repeat(60));
    small.write('x'.repeat(60));
    small.write('x'.repeat(60));
    expect(errors).toHaveLength(1);
    expect(small.ok).toBe(false);
  });
});

describe('a session recording', () => {
  it('reports a write failure once, so the session can be ended', async () => {
    const { SessionRecording } = await import('../../recorder/session-recording.js');
    const { mkdirSync } = await import('node:fs');
    const dir = tmp();
    // events.ndjson is a directory: opening it for append fails.
    mkdirSync(new RecordingLayout(dir).events);
    const failures: string[] = [];
    const rec = new SessionRecording(dir, {
      session: 's', protocol: 'ssh', user: 'u', target: 't', grant: 'g', reason: 'r', ticket: null, client_addr: 'a', started_at: 'x',
    }, () => 0, (e) => failures.push(e.message));
    rec.event('x', {});
    await rec.close('closed-by-client');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/EISDIR/);
  });
});

describe('user names with a target', () => {
  it.each([
    ['ops+web01', { user: 'ops', target: 'web01', level: null }], ['ops', { user: 'ops', target: null, level: null }],
    ['ops+web01+admin', { user: 'ops', target: 'web01', level: 'admin' }],
    ['ops+', null], ['+web01', null], ['a+b+', null], ['a+b+c+d', null], ['', null], ['x'.repeat(201), null],
  ])('parses "%s"', (name, want) => {
    expect(parsePrincipal(name)).toEqual(want);
  });
});
