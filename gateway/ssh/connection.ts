// One client SSH connection: authentication (SshAuthFlow), then the shared session pipeline
// (SessionBroker) and one upstream connection that all of the client's channels share. Warnings and
// cuts from the expiry watch reach every open channel. Holds no security decision of its own.
import type ssh2 from 'ssh2';
import type { SessionRecording } from '../../recorder/session-recording.js';
import type { Authenticator } from '../access/authn.js';
import type { AccessDecider, Authorization } from '../access/decider.js';
import type { LinkService } from '../access/links.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Logger } from '../log/logger.js';
import type { BrokeredSession, SessionBroker } from '../session/broker.js';
import { recordSession } from '../session/session-recording-setup.js';
import type { TerminationReason } from '../session/termination.js';
import type { Clock } from '../util/clock.js';
import { SshAuthFlow, type SshAuthResult } from './auth.js';
import { handleDirectTcpip } from './forwarding.js';
import { chooseTarget } from './menu.js';
import { type ChannelHost, type TrackedChannel, handleSessionChannel } from './session-channel.js';
import { UpstreamError, connectUpstream } from './upstream.js';

export interface SshDeps {
  authn: Authenticator;
  decider: AccessDecider;
  links: LinkService;
  broker: SessionBroker;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  authTimeoutMs: number;
  idleTimeoutMs: number;
  liveRecordings: Map<string, SessionRecording>;
}

export class SshConnection {
  private readonly flow: SshAuthFlow;
  private session: BrokeredSession | null = null;
  private recording: SessionRecording | null = null;
  private upstream: Promise<ssh2.Client> | null = null;
  private upstreamClient: ssh2.Client | null = null;
  private readonly channels = new Set<TrackedChannel>();
  private readonly notices: string[] = [];
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly deps: SshDeps, private readonly client: ssh2.Connection, private readonly addr: string, onAuthenticated: () => void) {
    const log = deps.log.child({ addr });
    this.flow = new SshAuthFlow(deps.authn, deps.decider, deps.links, addr, log, () => setTimeout(() => client.end(), 20));
    client.on('authentication', (ctx) => this.flow.handle(ctx));
    client.on('ready', () => {
      onAuthenticated();
      this.ready(this.flow.result);
    });
    client.on('error', (err: Error) => log.info({ reason: err.message }, 'ssh.client_error'));
    client.on('close', () => this.onClientClosed());
  }

  private ready(result: SshAuthResult | null): void {
    if (!result) { this.client.end(); return; }
    if (result.kind === 'authorized') this.begin(result.auth);
    const host: ChannelHost = {
      upstream: (ch, pty) => this.upstreamFor(result, ch, pty),
      recording: () => this.recording,
      keystrokes: () => this.session?.recordKeystrokes ?? true,
      fullCapture: () => this.session?.captureFullOutput ?? false,
      notices: () => this.notices.splice(0),
      track: (c) => { this.channels.add(c); return () => this.channels.delete(c); },
      fail: (reason, detail) => {
        this.session?.log.warn({ detail }, 'ssh.channel_failed');
        this.session?.terminate(reason);
      },
      log: this.deps.log,
    };
    this.client.on('session', (accept) => { this.touch(); handleSessionChannel(host, accept()); });
    this.client.on('tcpip', (accept, reject, info) => {
      if (!this.session || !this.upstream) return reject();
      handleDirectTcpip(this.session, this.deps.audit, this.recording, this.upstream, accept, reject, info);
    });
    this.client.on('request', (accept, reject, name) => {
      // tcpip-forward (ssh -R) and streamlocal forwards are refused; say so once a channel starts.
      if (name === 'tcpip-forward') this.notices.push('remote port forwarding (-R) is not allowed through Portcullis');
      reject?.();
    });
  }

  private async upstreamFor(result: SshAuthResult, ch: ssh2.ServerChannel, pty: ssh2.PseudoTtyInfo | null): Promise<ssh2.Client> {
    if (!this.upstream && result.kind === 'menu') {
      if (!pty) throw new Error(`you hold several SSH grants; name one: ssh ${result.user.name}+TARGET@gateway`);
      const target = await chooseTarget(ch, result.choices);
      const d = await this.deps.decider.authorize(result.user, target, 'ssh', this.addr);
      if (!d.ok) throw new Error(d.error.message);
      this.begin(d.auth);
    }
    if (!this.upstream) throw new Error('access refused');
    return this.upstream;
  }

  private begin(auth: Authorization): void {
    const session = this.deps.broker.start(auth, 'ssh', this.addr, {
      warn: (m) => {
        this.recording?.marker('expiry warning');
        for (const c of this.channels) c.notice(m);
      },
      close: (reason, message) => this.cut(reason, message),
    });
    this.session = session;
    this.recording = recordSession(session, this.deps.clock, this.deps.liveRecordings);
    this.upstream = session.credential().then((credential) => connectUpstream(auth.target, credential)).then((c) => {
      this.upstreamClient = c;
      c.on('close', () => { if (!this.closed) session.terminate('upstream-closed'); });
      c.on('error', (e: Error) => session.log.info({ reason: e.message }, 'ssh.upstream_error'));
      return c;
    }, (err: unknown) => {
      const reason = err instanceof UpstreamError ? err.kind : 'unreachable';
      this.deps.audit.record('session.upstream_failed', auth.user.name, { session: session.id, target: auth.target.name, reason });
      // Finish after the channel that is waiting has told the user.
      setTimeout(() => { session.finish('upstream-failed'); this.client.end(); }, 50);
      throw err;
    });
    this.touch();
  }

  /** Idle timeout: any channel activity re-arms it. */
  private touch(): void {
    if (this.deps.idleTimeoutMs <= 0) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.session?.terminate('idle-timeout'), this.deps.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private cut(reason: TerminationReason, message: string): void {
    this.recording?.marker(`cut: ${reason}`);
    for (const c of [...this.channels]) c.cut(message);
    // Give the channels a moment to flush their last words, then drop both legs.
    setTimeout(() => {
      this.closed = true;
      this.client.end();
      this.upstreamClient?.end();
    }, 100).unref();
  }

  private onClientClosed(): void {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.session?.finish('closed-by-client');
    this.upstreamClient?.end();
    this.upstream?.then((c) => c.end(), () => {});
  }
}
