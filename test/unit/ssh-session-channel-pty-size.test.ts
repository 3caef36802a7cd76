// The SSH session channel's sizes, on stand-ins for ssh2's channel objects (the wiring is under
// test here; test/e2e/ssh-pty-zero-size.test.ts drives the real OpenSSH client and sshd): a 0x0
// pty request goes upstream as sent and is recorded as 80x24; window-changes go upstream as sent,
// and the recording takes the real ones and skips the empty ones.
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import type ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { type ChannelHost, handleSessionChannel } from '../../gateway/ssh/session-channel.js';
import type { SessionContext } from '../../gateway/session/adapter.js';
import { NO_TAPS } from '../../gateway/session/pipeline-deps.js';
import { createLogger } from '../../gateway/log/logger.js';
import type { SessionTaps, TerminalHeader } from '../../recorder/taps.js';

/** One side of an ssh2 channel; `windows` are the window-changes sent on it. */
class FakeChannel extends Duplex {
  readonly stderr = new Duplex({ read: () => {}, write: (_c, _e, cb: () => void) => cb() });
  readonly windows: Array<[number, number]> = [];
  constructor() {
    super({ read: () => {}, write: (_chunk: Buffer, _enc, cb: () => void) => cb() });
  }
  exit(): void {}
  close(): void { this.emit('close'); }
  setWindow(rows: number, cols: number): void { this.windows.push([cols, rows]); }
  signal(): void {}
}

interface Seen { headers: TerminalHeader[]; resizes: string[]; upstreamPty: unknown; upstream: FakeChannel; session: EventEmitter }

function open(cols: number, rows: number): Seen {
  const session = new EventEmitter();
  const upstream = new FakeChannel();
  const seen: Seen = { headers: [], resizes: [], upstreamPty: undefined, upstream, session };
  const taps: SessionTaps = {
    ...NO_TAPS,
    terminal: (header) => {
      seen.headers.push(header);
      return { output: () => {}, input: () => {}, marker: () => {}, end: () => {}, resize: (c, r) => seen.resizes.push(`${c}x${r}`) };
    },
  };
  const ctx = {
    id: 'ses_test', policy: { recordKeystrokes: true, captureFullOutput: false, allowPortForwarding: false, recordingRequired: true },
    log: createLogger('silent'), signal: new AbortController().signal, taps, gatePassThrough: true,
    check: () => ({ verdict: 'allow' }), activity: () => {}, ended: () => {}, recordingFailed: () => {}, weakUpstreamAuth: () => {}, forwarded: () => {},
    guard: <A extends unknown[]>(fn: (...args: A) => void) => fn,
  } as unknown as SessionContext;
  const sshClient = {
    shell: (pty: unknown, _e: unknown, cb: (err: Error | undefined, ch: FakeChannel) => void) => { seen.upstreamPty = pty; cb(undefined, upstream); },
  } as unknown as ssh2.Client;
  const host: ChannelHost = {
    upstream: () => Promise.resolve({ client: sshClient, ctx }), notices: () => [], track: () => () => {}, log: createLogger('silent'),
  };
  handleSessionChannel(host, session as unknown as ssh2.Session);
  session.emit('pty', () => {}, () => {}, { term: 'xterm', cols, rows, width: 0, height: 0, modes: {} });
  session.emit('shell', () => new FakeChannel(), () => {});
  return seen;
}

const windowChange = (s: Seen, cols: number, rows: number): void => {
  s.session.emit('window-change', () => {}, () => {}, { cols, rows, width: 0, height: 0 });
};

async function tick(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe('the size of an SSH terminal channel', () => {
  it('asks the target for the 0x0 pty the client asked for, and records 80x24', async () => {
    const s = open(0, 0);
    await tick();
    expect(s.upstreamPty).toMatchObject({ cols: 0, rows: 0 });
    expect(s.headers).toEqual([expect.objectContaining({ width: 80, height: 24 })]);
  });

  it('records a later non-zero window-change, skips a 0x0 one, and forwards both as sent', async () => {
    const s = open(0, 0);
    await tick();
    windowChange(s, 0, 0);
    windowChange(s, 100, 30);
    expect(s.upstream.windows).toEqual([[0, 0], [100, 30]]);
    expect(s.resizes).toEqual(['100x30']);
  });

  it('records the size the client gave when it gave one', async () => {
    const s = open(120, 40);
    await tick();
    expect(s.upstreamPty).toMatchObject({ cols: 120, rows: 40 });
    expect(s.headers).toEqual([expect.objectContaining({ width: 120, height: 40 })]);
  });
});
