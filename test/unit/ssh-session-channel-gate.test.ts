// The SSH session channel with gate rules configured, on stand-ins for ssh2's channel objects (the
// gate's wiring, not OpenSSH, is under test here; e2e tests drive real clients): lines submitted
// on a terminal (read from the screen the target drew) pass the gate whether the terminal came with `shell` or with an exec (`ssh -t host
// bash`), and a denied line never gets its Enter to the target.
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import type ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { type ChannelHost, handleSessionChannel } from '../../gateway/ssh/session-channel.js';
import type { SessionContext } from '../../gateway/session/adapter.js';
import type { GateCommand, GateVerdict } from '../../gateway/session/gate.js';
import { NO_TAPS } from '../../gateway/session/pipeline-deps.js';
import { createLogger } from '../../gateway/log/logger.js';

/** One side of an ssh2 channel: `push` is what the peer sent, `written` what we sent the peer. */
class FakeChannel extends Duplex {
  readonly stderr = new Duplex({ read: () => {}, write: (_c, _e, cb: () => void) => cb() });
  readonly written: Buffer[] = [];
  constructor() {
    super({ read: () => {}, write: (chunk: Buffer, _enc, cb: () => void) => { this.written.push(Buffer.from(chunk)); cb(); } });
  }
  exit(): void {}
  close(): void { this.emit('close'); }
  setWindow(): void {}
  signal(): void {}
}

function run(start: 'shell' | 'exec'): { client: FakeChannel; upstream: FakeChannel; checked: string[] } {
  const session = new EventEmitter();
  const client = new FakeChannel();
  const upstream = new FakeChannel();
  const checked: string[] = [];
  const check = (cmd: GateCommand): GateVerdict => {
    if (cmd.kind === 'line') checked.push(cmd.text);
    return cmd.kind === 'line' && /rm -rf/.test(cmd.text) ? { verdict: 'deny', message: 'not here', rule: 'test' } : { verdict: 'allow' };
  };
  const ctx = {
    id: 'ses_test', policy: { recordKeystrokes: true, captureFullOutput: false, allowPortForwarding: false, recordingRequired: true },
    log: createLogger('silent'), signal: new AbortController().signal, taps: NO_TAPS, gatePassThrough: false,
    check, activity: () => {}, ended: () => {}, recordingFailed: () => {}, weakUpstreamAuth: () => {}, forwarded: () => {},
    guard: <A extends unknown[]>(fn: (...args: A) => void) => fn,
  } as unknown as SessionContext;
  const opened = (cb: (err: Error | undefined, ch: FakeChannel) => void): void => { cb(undefined, upstream); };
  const sshClient = {
    shell: (_o: unknown, _e: unknown, cb: (err: Error | undefined, ch: FakeChannel) => void) => opened(cb),
    exec: (_c: string, _o: unknown, cb: (err: Error | undefined, ch: FakeChannel) => void) => opened(cb),
  } as unknown as ssh2.Client;
  const host: ChannelHost = {
    upstream: () => Promise.resolve({ client: sshClient, ctx }), notices: () => [], track: () => () => {}, log: createLogger('silent'),
  };
  handleSessionChannel(host, session as unknown as ssh2.Session);
  session.emit('pty', () => {}, () => {}, { term: 'xterm', cols: 80, rows: 24, width: 0, height: 0, modes: {} });
  if (start === 'shell') session.emit('shell', () => client, () => {});
  else session.emit('exec', () => client, () => {}, { command: 'bash' });
  return { client, upstream, checked };
}

/** Until the bytes sent upstream hold `what` (the gate decides on timers: poll, a loaded machine is late). */
async function until(upstream: FakeChannel, what: string): Promise<void> {
  for (const t0 = Date.now(); !Buffer.concat(upstream.written).toString('latin1').includes(what) && Date.now() - t0 < 5000;) {
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function tick(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe('lines typed on an SSH terminal with gate rules', () => {
  for (const start of ['shell', 'exec'] as const) {
    it(`pass the gate on a terminal opened with ${start}, and a denied one never gets its Enter`, async () => {
      const { client, upstream, checked } = run(start);
      await tick();
      upstream.push('$ ');
      client.push('ls\r');
      await tick();
      upstream.push('ls');
      // The Enter is held until the target's echo is drawn and quiet (line-gate.ts).
      await until(upstream, 'ls\r');
      client.push('rm -rf /\r');
      await tick();
      upstream.push('\r\n$ rm -rf /');
      await until(upstream, 'rm -rf /\x03');
      const sent = Buffer.concat(upstream.written).toString('latin1');
      expect(checked[0]).toBe('ls');
      expect(checked.some((t) => t.includes('rm -rf /'))).toBe(true);
      expect(sent).toContain('ls\r');
      expect(sent).not.toContain('rm -rf /\r');
      expect(sent).toContain('rm -rf /\x03');
    });
  }
});
