// One client SSH connection as the session pipeline's adapter: authentication (SshAuthFlow, which
// asks the pipeline's Authorizer so a refusal is said during auth), the grant menu when the user
// named no target, one upstream connection that all of the client's channels share, and the words
// for warnings, refusals and cuts on every open channel. Holds no security decision of its own:
// every new channel and forward is authorized again by the pipeline (`reauthorize`), port
// forwards and commands go through its gate, recording through its taps.
import type ssh2 from 'ssh2';
import type { Authenticator } from '../access/authn.js';
import type { LinkService } from '../access/links.js';
import type { HandoffService } from '../identity/handoffs.js';
import type { BrowserWaits } from './browser-waits.js';
import type { SshCertificateService } from '../access/ssh-certificates.js';
import type { Logger } from '../log/logger.js';
import type { Identity, ProtocolAdapter, SessionContext, SessionRefusal } from '../session/adapter.js';
import type { UpstreamCredential } from '../session/credentials.js';
import type { SessionPipeline } from '../session/pipeline.js';
import type { TerminationReason } from '../session/termination.js';
import { SshAuthFlow, type SshAuthResult } from './auth.js';
import { handleDirectTcpip } from './forwarding.js';
import { chooseTarget } from './menu.js';
import { type ChannelHost, type Relaying, type TrackedChannel, handleSessionChannel } from './session-channel.js';
import { rawSocket } from './raw-socket.js';
import { connectUpstream } from './upstream.js';

export interface SshDeps {
  authn: Authenticator;
  /** SSH certificates from `portcullis login`: checked at publickey auth. */
  certs: Pick<SshCertificateService, 'probe' | 'login'>;
  links: LinkService;
  /** Keyboard-interactive logins approved in the browser; `approvalUrl`: the console page for a handoff id. */
  handoffs?: { service: Pick<HandoffService, 'begin' | 'claimSsh'>; approvalUrl: (id: string) => string; waits: BrowserWaits };
  pipeline: SessionPipeline;
  log: Logger;
  authTimeoutMs: number;
}

export class SshAdapter implements ProtocolAdapter<ssh2.Client> {
  readonly protocol = 'ssh';
  readonly frontEnd = 'ssh';
  private readonly flow: SshAuthFlow;
  private readonly log: Logger;
  private readonly channels = new Set<TrackedChannel>();
  private readonly notices: string[] = [];
  private ctx: SessionContext | null = null;
  private upstreamClient: ssh2.Client | null = null;
  private clientGone = false;
  private clientClosedNow: () => void = () => {};
  /** Resolves when the client's connection has closed. */
  private readonly clientClosed = new Promise<void>((resolve) => { this.clientClosedNow = resolve; });
  private closing = false;
  private identified: (id: Identity | null) => void = () => {};
  private readonly identity: Promise<Identity | null>;
  private menuShown = false;
  /** What channels wait for: the relaying session, or the refusal to tell the user. */
  private readonly relaying: Promise<Relaying>;
  private relayStarted: (r: Relaying) => void = () => {};
  private relayRefused: (e: Error) => void = () => {};

  constructor(
    private readonly deps: SshDeps, private readonly client: ssh2.Connection, readonly clientAddr: string, onAuthenticated: () => void,
    extendAuth: (ms: number) => void = () => {},
  ) {
    this.log = deps.log.child({ addr: clientAddr });
    this.identity = new Promise((r) => { this.identified = r; });
    this.relaying = new Promise((resolve, reject) => { this.relayStarted = resolve; this.relayRefused = reject; });
    // Channels that never get an upstream must not leave an unhandled rejection behind.
    this.relaying.catch(() => {});
    this.flow = new SshAuthFlow(deps.authn, deps.certs, deps.pipeline.authorizer, deps.links, clientAddr, this.log, () => setTimeout(() => client.end(), 20),
      deps.handoffs ? { ...deps.handoffs, extendAuth, onClose: (fn) => { client.once('close', fn); } } : null);
    client.on('authentication', (ctx) => this.flow.handle(ctx));
    client.on('ready', () => {
      onAuthenticated();
      this.ready(this.flow.result);
    });
    client.on('error', (err: Error) => this.log.info({ reason: err.message }, 'ssh.client_error'));
    client.on('close', () => this.onClientClosed());
  }

  identify(): Promise<Identity | null> {
    return this.identity;
  }

  private ready(result: SshAuthResult | null): void {
    if (!result) { this.client.end(); this.identified(null); return; }
    if (result.kind === 'authorized') this.identified({ kind: 'authorized', auth: result.auth });
    const host: ChannelHost = {
      upstream: (ch, pty) => this.upstreamFor(result, ch, pty),
      notices: () => this.notices.splice(0),
      track: (c) => { this.channels.add(c); return () => this.channels.delete(c); },
      log: this.log,
    };
    this.client.on('session', (accept) => { this.ctx?.activity(); handleSessionChannel(host, accept()); });
    // A forward may come before the upstream is up (ssh -N opens no session channel): it waits.
    this.client.on('tcpip', (accept, reject, info) => {
      // In menu mode no target is chosen until a terminal channel asks: nothing to forward to yet.
      if (result.kind === 'menu' && !this.menuShown) return reject();
      // Guarded: a throw in a detached promise would otherwise take the process down.
      this.relaying.then(({ ctx, client }) => ctx.guard(() => handleDirectTcpip(ctx, client, accept, reject, info))(undefined), () => reject());
    });
    this.client.on('request', (accept, reject, name) => {
      // tcpip-forward (ssh -R) and streamlocal forwards are refused; say so once a channel starts.
      if (name === 'tcpip-forward') this.notices.push('remote port forwarding (-R) is not allowed through Portcullis');
      reject?.();
    });
  }

  /** A channel wants the upstream; in menu mode the first terminal channel asks which target first. */
  private async upstreamFor(result: SshAuthResult, ch: ssh2.ServerChannel, pty: ssh2.PseudoTtyInfo | null): Promise<Relaying> {
    if (result.kind === 'menu' && !this.menuShown) {
      if (!pty) throw new Error(`you hold several SSH grants; name one: ssh ${result.user.name}+TARGET@gateway`);
      this.menuShown = true;
      const pick = await chooseTarget(ch, result.choices);
      this.identified({ kind: 'user', user: result.user, target: pick.target, level: pick.level });
    }
    if (this.closing) throw new Error('this session has ended');
    const relaying = await this.relaying;
    // Every channel is authorized again (a ControlMaster connection outlives what it was let in
    // for): a user disabled, a grant revoked or a target re-pointed since refuses it, and ends the
    // connection when access itself is gone.
    const refusal = await relaying.ctx.reauthorize('channel');
    if (refusal !== null) throw new Error(refusal);
    return relaying;
  }

  refuse(refusal: SessionRefusal): void {
    const target = this.ctx?.auth.target.name;
    const message = refusal.kind === 'upstream'
      ? `${refusal.failure.message}${target ? `; an admin can check the target with: portcullis target test ${target}` : ''}`
      : refusal.kind === 'access' ? refusal.error.message
      : 'access refused';
    this.log.info({ reason: message }, 'ssh.refused');
    this.relayRefused(new Error(message));
    // The waiting channel tells the user first (OpenSSH then closes by itself); the connection
    // ends anyway soon after, for clients with no channel waiting (ssh -N). 50 ms lost the message
    // under load: the disconnect overtook the channel's words.
    setTimeout(() => this.client.end(), 1000).unref();
  }

  async connect(ctx: SessionContext, credential: UpstreamCredential): Promise<ssh2.Client> {
    this.ctx = ctx;
    if (this.clientGone) ctx.ended('closed-by-client');
    return connectUpstream(ctx.auth.target, credential, ctx.signal);
  }

  release(upstream: ssh2.Client): void {
    upstream.end();
  }

  relay(ctx: SessionContext, upstream: ssh2.Client): void {
    this.upstreamClient = upstream;
    upstream.on('close', () => { if (!this.closing) ctx.ended('upstream-closed'); });
    upstream.on('error', (e: Error) => ctx.log.info({ reason: e.message }, 'ssh.upstream_error'));
    this.relayStarted({ client: upstream, ctx });
  }

  warn(message: string): void {
    // No channel relaying yet (one is still starting): the first to start says it, so a warning
    // that comes during a slow login is not lost.
    if (this.channels.size === 0) { this.notices.push(message.replace(/^Portcullis: /, '')); return; }
    for (const c of this.channels) c.notice(message);
  }

  close(_reason: TerminationReason, message: string): void {
    if (this.closing) return;
    this.closing = true;
    // Nothing more is read from the client, on any channel (port forwards too), until the target
    // leg is gone. What the cut says to the target (each channel's close) is held back with it:
    // sessions that end at one instant (a thousand grants ending together) each tell their client
    // first, in this turn, and every target leg closes in the next (setImmediate). Writing to a
    // thousand sshd processes wakes them on the same cores: done first, it made the last clients
    // hear of their cut seconds late. Each target channel is closed here already (ssh2 sends
    // nothing more on a closed channel), so nothing reaches a target after its end.
    const clientSocket = rawSocket(this.client);
    const upstreamSocket = rawSocket(this.upstreamClient);
    clientSocket?.pause();
    upstreamSocket?.cork();
    const cuts = [...this.channels].map((c) => c.cut(message));
    setImmediate(() => {
      // end() sends the disconnect and flushes what was held, in order.
      upstreamSocket?.uncork();
      this.upstreamClient?.end();
      clientSocket?.resume();
    });
    // Then the client: each channel says why, exits and closes. A disconnect sent right behind those
    // words loses them: OpenSSH exits on SSH_MSG_DISCONNECT before writing out channel data it has
    // already read (CI saw an empty "Received disconnect"). So wait until each message left (behind
    // any output the client has not read yet; at most 10 s), then let the client close the
    // connection itself, as OpenSSH does once its channels are closed; a client that keeps it open
    // (a ControlMaster, ssh -N) is disconnected 5 s later. Nothing reaches the target meanwhile.
    const sent = Promise.race([Promise.all(cuts), delay(10_000)]);
    void sent.then(() => Promise.race([this.clientClosed, delay(5_000)])).then(() => { if (!this.clientGone) this.client.end(); });
  }

  private onClientClosed(): void {
    this.clientGone = true;
    this.clientClosedNow();
    this.closing = true;
    this.identified(null);
    this.ctx?.ended('closed-by-client');
    this.upstreamClient?.end();
  }
}

/** Resolves after `ms` without holding the process open. */
function delay(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
}
