// One client `session` channel, relayed to one upstream channel. Translates requests faithfully
// (pty-req with size and modes, allow-listed env, shell, exec, the sftp subsystem, signal,
// window-change) and ends in the order OpenSSH expects: data, then exit-status or exit-signal,
// then EOF and close. `pipe` carries backpressure both ways (a paused stream stops SSH window
// adjusts). Recording only taps (the session's SessionTaps): a terminal stream for pty channels; for
// channels without a pty that are not file transfers (wire/transfer-command.ts) a pipe stream that
// holds every input byte before it is forwarded, and stdout/stderr apart (pipe-channel.ts); a
// summary (byte counts, SHA-256, head and tail) for every channel without a pty, SFTP file events. A terminal is recorded with a real size even when the client asked for 0x0
// (wire/pty-size.ts); the target gets the pty request and window-changes as the client sent them.
// The shell, exec or subsystem request passes the session's gate first; a denial is said on the
// channel (stderr for exec) and the channel exits with status 1.
import type ssh2 from 'ssh2';
import type { TerminalTap } from '../../recorder/taps.js';
import { StreamDigest } from '../../recorder/stream-digest.js';
import type { Logger } from '../log/logger.js';
import type { SessionContext } from '../session/adapter.js';
import type { GateCommand } from '../session/gate.js';
import { LineGate } from '../session/line-gate.js';
import { StdinLineGate } from '../session/stdin-line-gate.js';
import { readsShellStdin } from '../rules/command/command-line.js';
import { writeOrPause } from '../util/relay-sockets.js';
import { relayPipe } from './pipe-channel.js';
import { changedSize, DEFAULT_TERMINAL_SIZE, requestedSize, type TerminalSize } from './wire/pty-size.js';
import { SftpTracker } from './wire/sftp-tracker.js';
import { transferKind } from './wire/transfer-command.js';

/** The relaying session a channel works in: the shared upstream client and the session context. */
export interface Relaying {
  client: ssh2.Client;
  ctx: SessionContext;
}

/** What a channel needs from its connection. */
export interface ChannelHost {
  /** The relaying session; in menu mode the channel is used to ask which target first. */
  upstream(ch: ssh2.ServerChannel, pty: ssh2.PseudoTtyInfo | null): Promise<Relaying>;
  /** Lines to show the user when the channel starts (refused forwards, ...). */
  notices(): string[];
  track(c: TrackedChannel): () => void;
  log: Logger;
}

export interface TrackedChannel {
  notice(text: string): void;
  /** Tells the user why and ends the channel; resolves once the message was sent (queued output first). */
  cut(text: string): Promise<void>;
}

type Start = { kind: 'shell' } | { kind: 'exec'; command: string } | { kind: 'subsystem'; name: 'sftp' };

// Locale settings only: PATH, LD_* and friends could change what runs upstream.
const ENV_ALLOWED = /^(LANG|LANGUAGE|LC_[A-Z_]+|TZ|COLORTERM)$/;
const MAX_ENV = 32;
const EMPTY = Buffer.alloc(0);

export function handleSessionChannel(host: ChannelHost, session: ssh2.Session): void {
  let pty: ssh2.PseudoTtyInfo | null = null;
  // The size the recording is given (never 0x0); `pty` keeps what the client asked for.
  let recordedSize: TerminalSize = { ...DEFAULT_TERMINAL_SIZE };
  const env: Record<string, string> = {};
  let up: ssh2.ClientChannel | null = null;
  let writer: TerminalTap | null = null;
  // Lines typed on a terminal, read from a headless terminal before their Enter goes (gate rules only).
  let lineGate: LineGate | null = null;
  let started = false;
  // A signal the client sends acts on the target (it can stop what runs): recorded once relaying.
  let signalled: (name: string) => void = () => {};
  const refusals: string[] = [];

  session.on('pty', (accept, _reject, info) => {
    pty = info;
    recordedSize = requestedSize(info.cols, info.rows);
    accept?.();
  });
  session.on('env', (accept, reject, info) => {
    if (ENV_ALLOWED.test(info.key) && Object.keys(env).length < MAX_ENV && info.val.length <= 1024) {
      env[info.key] = info.val;
      accept?.();
    } else reject?.();
  });
  session.on('window-change', (accept, _reject, info) => {
    if (pty) Object.assign(pty, { cols: info.cols, rows: info.rows, width: info.width, height: info.height });
    up?.setWindow(info.rows, info.cols, info.height, info.width);
    const next = changedSize(recordedSize, info.cols, info.rows);
    if (next) {
      recordedSize = next;
      writer?.resize(next.cols, next.rows);
      lineGate?.resize(next.cols, next.rows);
    }
    accept?.();
  });
  session.on('signal', (accept, _reject, info) => { signalled(info.name); up?.signal(info.name); accept?.(); });
  session.on('auth-agent', (_accept, reject) => { refusals.push('agent forwarding is not allowed through Portcullis'); reject?.(); });
  session.on('x11', (_accept, reject) => { refusals.push('X11 forwarding is not allowed through Portcullis'); reject?.(); });
  const begin = (ch: ssh2.ServerChannel, what: Start): void => {
    if (started) { ch.close(); return; }
    started = true;
    // Before the session relays there is no session to end: log, close this channel, stay up.
    start(ch, what).catch((err: unknown) => {
      host.log.error({ err: err instanceof Error ? err.message : String(err) }, 'ssh.channel_start_failed');
      ch.close();
    });
  };
  session.on('shell', (accept) => begin(accept(), { kind: 'shell' }));
  session.on('exec', (accept, _reject, info) => begin(accept(), { kind: 'exec', command: info.command }));
  session.on('subsystem', (accept, reject, info) => {
    if (info.name === 'sftp') begin(accept(), { kind: 'subsystem', name: 'sftp' });
    else reject?.();
  });

  async function start(ch: ssh2.ServerChannel, what: Start): Promise<void> {
    const terminal = pty !== null && what.kind !== 'subsystem';
    const say = (text: string): void => {
      if (terminal) ch.write(`\r\n${text}\r\n`);
      else ch.stderr.write(`${text}\n`);
    };
    let relaying: Relaying;
    try {
      relaying = await host.upstream(ch, pty);
    } catch (err) {
      say(`Portcullis: ${err instanceof Error ? err.message : 'cannot reach the target'}`);
      finishClient(ch, { code: 1 });
      return;
    }
    const { client, ctx } = relaying;
    // From here a throw ends this session (adapter-error), never the process: start() runs detached.
    ctx.guard(() => startOn(ch, what, client, ctx, say))(undefined);
  }

  function startOn(ch: ssh2.ServerChannel, what: Start, client: ssh2.Client, ctx: SessionContext, say: (text: string) => void): void {
    const terminal = pty !== null && what.kind !== 'subsystem';
    for (const n of [...host.notices(), ...refusals]) say(`Portcullis: ${n}`);
    const command: GateCommand = what.kind === 'exec' ? { kind: 'exec', command: what.command }
      : what.kind === 'shell' ? { kind: 'channel', type: 'shell' } : { kind: 'channel', type: 'subsystem', name: what.name };
    const verdict = ctx.check(command);
    if (verdict.verdict === 'deny') {
      say(`Portcullis: ${verdict.message}`);
      finishClient(ch, { code: 1 });
      return;
    }
    const ptyOpts = pty ? { term: pty.term, rows: pty.rows, cols: pty.cols, width: pty.width, height: pty.height, modes: pty.modes } : undefined;
    // guard takes one argument (no rest array on the relay's hot path): the callback's two go in one.
    const openedOnce = ctx.guard(({ err, channel }: { err: Error | undefined; channel: ssh2.ClientChannel }): void => {
      if (err) {
        say(`Portcullis: the target refused the ${what.kind} request`);
        finishClient(ch, { code: 1 });
        return;
      }
      up = channel;
      relay(ch, channel, what, terminal, ctx);
    });
    const opened = (err: Error | undefined, channel: ssh2.ClientChannel): void => openedOnce({ err, channel });
    try {
      if (what.kind === 'shell') client.shell(ptyOpts ?? false, { env }, opened);
      else if (what.kind === 'exec') client.exec(what.command, { env, ...(ptyOpts ? { pty: ptyOpts } : {}) }, opened);
      else client.subsys(what.name, opened);
    } catch (err) {
      opened(err instanceof Error ? err : new Error(String(err)), undefined as never);
    }
  }

  function relay(ch: ssh2.ServerChannel, upCh: ssh2.ClientChannel, what: Start, terminal: boolean, ctx: SessionContext): void {
    const rec = ctx.taps;
    // Idle timeout: what the client sends is activity. On a terminal only that counts: `top`,
    // `tail -f` or a loop printing forever in an abandoned terminal must not keep it open. Without
    // a terminal (scp, rsync, a batch command) the target's output counts too: a transfer running
    // is not an abandoned session, and it ends by itself.
    const active = (): void => ctx.activity();
    ch.on('data', active);
    if (!terminal) {
      upCh.on('data', active);
      upCh.stderr.on('data', active);
    }
    // Mass export (risk): what reaches the client, a terminal's output, a command's, a transfer's.
    if (ctx.sentToClient) {
      const sent = (d: Buffer): void => ctx.sentToClient?.(d.length);
      upCh.on('data', sent);
      upCh.stderr.on('data', sent);
    }
    const label = what.kind === 'exec' ? what.command : what.kind === 'subsystem' ? `subsystem:${what.name}` : 'shell';
    let exit: { code: number } | { signal: string; core: boolean; message: string } | null = null;
    const digests = terminal ? null : { stdin: new StreamDigest(), stdout: new StreamDigest(), stderr: new StreamDigest() };
    // A file transfer's data is not input (digests and file events); any other stream without a pty is.
    const transfer = what.kind === 'subsystem' || (what.kind === 'exec' && transferKind(what.command) !== null);
    const pipe = terminal || transfer ? null : rec.pipe(what.kind === 'exec' ? { command: what.command } : {});
    signalled = (name) => {
      rec.event('signal', { what: label, name });
      pipe?.marker(`signal sent: ${name}`);
    };
    if (terminal && pty) {
      writer = rec.terminal({ width: recordedSize.cols, height: recordedSize.rows, ...(what.kind === 'exec' ? { command: what.command } : {}), env: { TERM: pty.term } });
      const w = writer;
      ch.on('data', ctx.guard((d: Buffer) => w.input(d)));
      upCh.on('data', ctx.guard((d: Buffer) => w.output(d)));
      upCh.stderr.on('data', ctx.guard((d: Buffer) => w.output(d)));
    } else if (digests) {
      ch.on('data', (d: Buffer) => digests.stdin.update(d));
      upCh.on('data', (d: Buffer) => digests.stdout.update(d));
      upCh.stderr.on('data', (d: Buffer) => digests.stderr.update(d));
      if (ctx.policy.captureFullOutput && what.kind === 'exec') {
        // One channel, one number: the capture is exec-N next to its ch-N.cast.
        const { stdout: out, stderr: err } = rec.captureExec(pipe?.channel);
        upCh.on('data', (d: Buffer) => out.write(d));
        upCh.stderr.on('data', (d: Buffer) => err.write(d));
        upCh.once('close', () => { void out.close(); void err.close(); });
      }
    }
    let sftp: SftpTracker | null = null;
    if (what.kind === 'subsystem') {
      const tracker = new SftpTracker((e) => rec.fileOperation(e));
      sftp = tracker;
      let unparseable = false;
      const feed = (side: 'client' | 'server') => (d: Buffer): void => {
        if (unparseable) return;
        try {
          tracker[side].push(d);
        } catch (err) {
          // The pipeline applies the recording policy: required ends the session, optional goes on.
          unparseable = true;
          ctx.recordingFailed(`unparseable SFTP from the ${side}: ${err instanceof Error ? err.message : String(err)}`);
        }
      };
      ch.on('data', feed('client'));
      upCh.on('data', feed('server'));
    }
    // Every terminal, not only `shell`: `ssh -t host bash` is an exec whose command passes the gate
    // once, then an interactive shell whose lines must pass it too.
    if (!ctx.gatePassThrough && terminal) lineGate = gateShellInput(ch, upCh, ctx, recordedSize);
    else if (pipe && !ctx.gatePassThrough && (what.kind === 'shell' || (what.kind === 'exec' && readsShellStdin(what.command)))) relayPipe(ch, upCh, pipe, ctx, gateStdinLines(ch, upCh, ctx));
    else if (pipe) relayPipe(ch, upCh, pipe, ctx);
    else ch.pipe(upCh);
    upCh.pipe(ch, { end: false });
    upCh.stderr.pipe(ch.stderr, { end: false });
    const untrack = host.track({
      notice: (text) => (terminal ? ch.write(`\r\n${text}\r\n`) : ch.stderr.write(`${text}\n`)),
      cut: (text) => new Promise<void>((resolve) => {
        // Nothing more from the target goes ahead of the message; resolves once it left for the
        // client (behind any output still queued for it).
        upCh.unpipe(ch);
        upCh.stderr.unpipe(ch.stderr);
        if (terminal) ch.write(`\r\n${text}\r\n`, () => resolve());
        else ch.stderr.write(`${text}\n`, () => resolve());
        finishClient(ch, { signal: 'TERM', core: false, message: text });
        upCh.close();
      }),
    });
    upCh.on('exit', (code: number | null, signal?: string, core?: boolean, message?: string) => {
      exit = code !== null && code !== undefined ? { code } : { signal: signal ?? 'KILL', core: core ?? false, message: message ?? '' };
    });
    upCh.once('close', () => {
      untrack();
      lineGate?.close();
      sftp?.end();
      finishClient(ch, exit ?? { code: 0 });
      writer?.end();
      if (pipe) {
        pipe.marker(exit === null ? 'closed' : 'code' in exit ? `exit ${exit.code}` : `signal ${exit.signal}`);
        pipe.end();
      }
      if (digests) {
        rec.event('exec', {
          what: label, exit, stdin: { bytes: digests.stdin.summary().bytes, sha256: digests.stdin.summary().sha256 },
          stdout: digests.stdout.summary(), stderr: digests.stderr.summary(),
        });
      }
    });
    // The client closed its side: close upstream too (its close then finishes the client side).
    ch.once('close', () => upCh.close());
  }
}

/**
 * Gate rules are configured: lines submitted on the terminal pass the gate before their Enter is
 * forwarded (session/line-gate.ts); a denied line is abandoned and the user told why. The terminal
 * reads the target's output after the recorder's tap (registered first). Backpressure as pipe.
 */
function gateShellInput(ch: ssh2.ServerChannel, upCh: ssh2.ClientChannel, ctx: SessionContext, size: TerminalSize): LineGate {
  const gate = new LineGate({
    forward: (b) => writeOrPause(upCh, b, ch),
    say: (text) => ch.write(`\r\nPortcullis: ${text}\r\n`),
    pause: () => ch.pause(),
    resume: () => ch.resume(),
    check: (cmd) => ctx.check(cmd),
  }, size.cols, size.rows);
  upCh.on('data', ctx.guard((d: Buffer) => gate.output(d)));
  upCh.stderr.on('data', ctx.guard((d: Buffer) => gate.output(d)));
  ch.on('data', ctx.guard((d: Buffer) => gate.input(d)));
  ch.once('end', () => gate.whenIdle(() => upCh.end()));
  return gate;
}

/**
 * Gate rules are configured and a shell reads its code from stdin without a terminal (`echo cmd |
 * ssh host`, `ssh host bash -s < script`): each line passes the gate before it is forwarded
 * (session/stdin-line-gate.ts). A denied line and what follows never reach the target; its stdin is closed.
 */
function gateStdinLines(ch: ssh2.ServerChannel, upCh: ssh2.ClientChannel, ctx: SessionContext): StdinLineGate {
  return new StdinLineGate({
    forward: (b) => writeOrPause(upCh, b, ch),
    say: (text) => ch.stderr.write(`Portcullis: ${text}\n`),
    end: () => upCh.end(),
    check: (cmd) => ctx.check(cmd),
  });
}

/**
 * Ends the client channel once everything written so far has gone out: a zero-length write is a
 * barrier (ssh2 calls it back only after earlier writes were sent), then exit status, EOF, close.
 */
function finishClient(ch: ssh2.ServerChannel, exit: { code: number } | { signal: string; core: boolean; message: string }): void {
  const closeWhenDone = (): void => {
    ch.stderr.write(EMPTY, () => {
      if ('code' in exit) ch.exit(exit.code);
      else ch.exit(exit.signal, exit.core, exit.message);
      ch.end();
      ch.close();
    });
  };
  if (!ch.writable) { ch.close(); return; }
  ch.write(EMPTY, closeWhenDone);
}
