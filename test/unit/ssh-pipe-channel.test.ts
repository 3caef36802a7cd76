// The SSH session channel without a pty, on stand-ins for ssh2's channel objects and a real
// SessionRecording (the wiring is under test here; ssh-no-pty-input.test.ts drives real OpenSSH):
// input reaches the target only after it is recorded, the chunk over the session's input cap never
// reaches it, transfers pass as data, a lookalike transfer does not, signals are recorded, and
// what was sent and shown is searchable.
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import type ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { type ChannelHost, handleSessionChannel } from '../../gateway/ssh/session-channel.js';
import type { SessionContext } from '../../gateway/session/adapter.js';
import { createLogger } from '../../gateway/log/logger.js';
import { readCast } from '../../recorder/asciicast-reader.js';
import { SessionRecording } from '../../recorder/session-recording.js';
import { indexRecording } from '../../gateway/session/search-index.js';
import type { SearchEntry, Store } from '../../gateway/store/store.js';

class FakeChannel extends Duplex {
  readonly stderr = new Duplex({ read: () => {}, write: (_c, _e, cb: () => void) => cb() });
  readonly written: Buffer[] = [];
  readonly signals: string[] = [];
  constructor() {
    super({ read: () => {}, write: (chunk: Buffer, _enc, cb: () => void) => { this.written.push(Buffer.from(chunk)); cb(); } });
  }
  exit(): void {}
  close(): void { this.emit('close'); }
  setWindow(): void {}
  signal(name: string): void { this.signals.push(name); }
}

interface Rig { client: FakeChannel; upstream: FakeChannel; session: EventEmitter; rec: SessionRecording; capped: string[]; dir: string }

function rig(start: { exec: string } | 'shell', inputCap = 100): Rig {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-pipe-ch-'));
  const capped: string[] = [];
  const rec = new SessionRecording(dir, {
    session: 'ses_t', protocol: 'ssh', user: 'ops', target: 'web01', grant: 'grt_t', reason: 'test', ticket: null, client_addr: '127.0.0.1',
    started_at: new Date(0).toISOString(),
  }, () => Date.now(), (e) => { throw e; }, { pipe: { inputCap, outputCap: 1000, onInputCap: (d) => capped.push(d) } });
  const session = new EventEmitter();
  const client = new FakeChannel();
  const upstream = new FakeChannel();
  const ctx = {
    id: 'ses_t', policy: { recordKeystrokes: true, captureFullOutput: false, allowPortForwarding: false, recordingRequired: true },
    log: createLogger('silent'), signal: new AbortController().signal, taps: rec, gatePassThrough: true,
    check: () => ({ verdict: 'allow' }), activity: () => {}, ended: () => {}, recordingFailed: () => {}, weakUpstreamAuth: () => {}, forwarded: () => {},
    guard: <A extends unknown[]>(fn: (...args: A) => void) => fn,
  } as unknown as SessionContext;
  const opened = (cb: (err: Error | undefined, ch: FakeChannel) => void): void => { cb(undefined, upstream); };
  const sshClient = {
    shell: (_o: unknown, _e: unknown, cb: (err: Error | undefined, ch: FakeChannel) => void) => opened(cb),
    exec: (_c: string, _o: unknown, cb: (err: Error | undefined, ch: FakeChannel) => void) => opened(cb),
  } as unknown as ssh2.Client;
  const host: ChannelHost = { upstream: () => Promise.resolve({ client: sshClient, ctx }), notices: () => [], track: () => () => {}, log: createLogger('silent') };
  handleSessionChannel(host, session as unknown as ssh2.Session);
  if (start === 'shell') session.emit('shell', () => client, () => {});
  else session.emit('exec', () => client, () => {}, { command: start.exec });
  return { client, upstream, session, rec, capped, dir };
}

async function tick(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

async function finish(r: Rig): Promise<void> {
  r.upstream.emit('exit', 0);
  r.upstream.emit('close');
  await r.rec.end('closed-by-client');
}

const sent = (r: Rig): string => Buffer.concat(r.upstream.written).toString();

describe('an SSH channel without a pty', () => {
  it('forwards what it recorded, and never the chunk over the input cap', async () => {
    const r = rig('shell');
    await tick();
    r.client.push('echo one\n');
    r.client.push('x'.repeat(80));
    await tick();
    r.client.push('rm -rf /important\n'); // would pass the 100-byte cap
    r.client.push('ls\n');
    await tick();
    expect(sent(r)).toBe('echo one\n' + 'x'.repeat(80));
    expect(r.capped).toHaveLength(1);
    await finish(r);
    const cast = await readCast(r.rec.layout.cast(1));
    expect(cast.events.filter((e) => e[1] === 'i').map((e) => e[2]).join('')).toBe(sent(r));
    expect(cast.events.some((e) => e[1] === 'm' && e[2].startsWith('input refused: 18 bytes over the 100-byte cap'))).toBe(true);
  });

  it('passes a transfer\'s data whatever its size, with no cast', async () => {
    const r = rig({ exec: 'scp -t -- /tmp/x' });
    await tick();
    r.client.push(Buffer.alloc(1000, 'd'));
    await tick();
    expect(sent(r)).toHaveLength(1000);
    expect(r.capped).toHaveLength(0);
    await finish(r);
    expect(r.rec.layout.castChannels()).toHaveLength(0);
    expect(readFileSync(r.rec.layout.events, 'utf8')).toMatch(/"kind":"exec","what":"scp -t -- \/tmp\/x".*"stdin":\{"bytes":1000/);
  });

  it('records the stdin of a command that only starts like a transfer, under the cap', async () => {
    const r = rig({ exec: 'scp -t /tmp/x; bash' });
    await tick();
    r.client.push('id\n');
    r.client.push(Buffer.alloc(200, 'y'));
    await tick();
    expect(sent(r)).toBe('id\n');
    expect(r.capped).toHaveLength(1);
    await finish(r);
  });

  it('records a signal the client sends, in the events and the cast, and still delivers it', async () => {
    const r = rig({ exec: 'sleep 100' });
    await tick();
    r.session.emit('signal', () => {}, () => {}, { name: 'INT' });
    expect(r.upstream.signals).toEqual(['INT']);
    await finish(r);
    expect(readFileSync(r.rec.layout.events, 'utf8')).toContain('"kind":"signal","what":"sleep 100","name":"INT"');
    const cast = await readCast(r.rec.layout.cast(1));
    expect(cast.events.filter((e) => e[1] === 'm').map((e) => e[2])).toEqual(['signal sent: INT', 'exit 0']);
  });

  it('makes every command sent and every line of output and error searchable', async () => {
    const r = rig('shell', 10_000);
    await tick();
    r.client.push('cd /etc\ncat shadow\n');
    await tick();
    r.upstream.stderr.push('cat: shadow: Permission denied\n');
    r.upstream.push('done\n');
    await tick();
    await finish(r);
    const entries: SearchEntry[] = [];
    const store = { sessions: { byId: () => Promise.resolve(undefined) }, search: { add: (e: SearchEntry[]) => { entries.push(...e); return Promise.resolve(); } } } as unknown as Store;
    await indexRecording(store, r.dir, 'ses_t', createLogger('silent'));
    expect(entries.filter((e) => e.kind === 'input').map((e) => e.text)).toEqual(['cd /etc', 'cat shadow']);
    expect(entries.filter((e) => e.kind === 'output').map((e) => e.text)).toEqual(['cat: shadow: Permission denied', 'done']);
  });

  it('keeps stdout and stderr apart', async () => {
    const r = rig({ exec: 'make' });
    await tick();
    r.upstream.push('built\n');
    r.upstream.stderr.push('warning: x\n');
    await tick();
    await finish(r);
    const cast = await readCast(r.rec.layout.cast(1));
    expect(cast.events.filter((e) => e[1] === 'o' || e[1] === 'e').map((e) => [e[1], e[2]])).toEqual([['o', 'built\n'], ['e', 'warning: x\n']]);
  });
});
