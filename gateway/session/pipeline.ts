// THE session pipeline, once for every front end: identify (the adapter) → authorize (the
// AccessDecider, through the Authorizer port) → run the session (running-session.ts: start,
// record, issue the credential, connect, check the grant, relay with taps, the gate and an abort
// signal, end once, revoke, seal). Adapters translate; every decision is made here or in the ports.
// Does not know any protocol, and does not touch sockets.
import type { Authorization } from '../access/decider.js';
import { LOG } from '../log/logger.js';
import { isPortcullisError, PortcullisError } from '../util/errors.js';
import type { Identity, ProtocolAdapter } from './adapter.js';
import type { Authorizer } from './ports.js';
import { type PipelineDeps, refuseSafely, type SessionHandle } from './pipeline-deps.js';
import { RunningSession } from './running-session.js';
import type { TerminationReason } from './termination.js';

export type { PipelineDeps, SessionHandle, SessionLimitsConfig, RecordingOpener } from './pipeline-deps.js';

const RECHECK_KEY = 'session-recheck';

export class SessionPipeline {
  /** Every session from its first step to its sealed end, registered with the live registry or not yet. */
  private readonly running = new Set<RunningSession<unknown>>();
  private closing = false;

  constructor(private readonly deps: PipelineDeps) {
    this.armRecheck();
  }

  /** One timer for all sessions: each round checks every relaying session, one after another. */
  private armRecheck(): void {
    const ms = this.deps.limits.recheckMs ?? 0;
    if (ms <= 0 || this.closing) return;
    this.deps.scheduler.set(RECHECK_KEY, this.deps.clock.now() + ms, async () => {
      for (const s of [...this.running]) await s.recheck();
      this.armRecheck();
    });
  }

  /**
   * Ends every session of this node with `reason`, those still logging in included (the live
   * registry does not know them yet): this node was found lost, and their records already ended.
   */
  endAll(reason: TerminationReason): void {
    for (const s of [...this.running]) s.terminate(reason);
  }

  /** Rechecks every relaying session now (the cluster's safety net when bus messages may have been missed). */
  async recheckAll(): Promise<void> {
    for (const s of [...this.running]) await s.recheck();
  }

  /**
   * Gateway shutdown: refuses new sessions, ends every running one with `gateway-shutdown` — also
   * those still logging in, which the live registry does not know yet — and resolves once each has
   * booked its end, revoked its credential and sealed its recording (or after `timeoutMs`). The
   * store must stay open until this resolves.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    this.closing = true;
    this.deps.scheduler.delete(RECHECK_KEY);
    const settled = [...this.running].map((s) => {
      s.terminate('gateway-shutdown');
      return s.settled;
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((r) => { timer = setTimeout(r, timeoutMs); });
    await Promise.race([Promise.all(settled), late]);
    clearTimeout(timer);
  }

  /**
   * The recordings volume fell below its watermark: every running session hears it (sessions that
   * must be recorded end with `recording-failed` and this message; the others stop recording).
   */
  recordingSpaceLow(message: string): void {
    for (const s of this.running) s.recordingSpaceLow(message);
  }

  /** The authorization port, for front ends that must refuse during their own auth (SSH). */
  get authorizer(): Authorizer {
    return this.deps.authorizer;
  }

  /**
   * Runs one client connection through the pipeline. Resolves once the session relays (with its
   * handle), or once the client was refused or turned out not to be a session (null).
   */
  async start<U>(adapter: ProtocolAdapter<U>): Promise<SessionHandle | null> {
    // Never rejects: listeners fire and forget, and one connection's bug must not crash the process.
    try {
      return await this.run(adapter);
    } catch (err) {
      this.deps.log.error({ err: err instanceof Error ? err.stack : String(err), addr: adapter.clientAddr }, LOG.sessionPipelineError);
      refuseSafely(adapter, { kind: 'client', error: err }, this.deps.log);
      return null;
    }
  }

  private async run<U>(adapter: ProtocolAdapter<U>): Promise<SessionHandle | null> {
    let identity: Identity | null;
    try {
      identity = await adapter.identify();
    } catch (error) {
      refuseSafely(adapter, { kind: 'client', error }, this.deps.log);
      return null;
    }
    if (!identity) return null;
    const auth = await this.authorize(adapter, identity);
    if (!auth) return null;
    if (this.closing) {
      refuseSafely(adapter, { kind: 'access', error: new PortcullisError('unavailable', 'the gateway is shutting down; try again shortly') }, this.deps.log);
      return null;
    }
    // The recordings volume is below its watermark: no session starts that could not be recorded
    // whole (the alert went out once, when it crossed; each refusal is only logged).
    const full = this.deps.recordingSpace?.refusal;
    if (full) {
      this.deps.log.warn({ user: auth.user.name, target: auth.target.name, protocol: adapter.protocol, addr: adapter.clientAddr }, LOG.sessionRefusedSpace);
      refuseSafely(adapter, { kind: 'access', error: new PortcullisError('storage-full', full) }, this.deps.log);
      return null;
    }
    const session = new RunningSession(this.deps, adapter, auth);
    this.running.add(session);
    void session.settled.then(() => this.running.delete(session));
    return session.run();
  }

  private async authorize<U>(adapter: ProtocolAdapter<U>, identity: Identity): Promise<Authorization | null> {
    if (identity.kind === 'authorized') return identity.auth;
    const d = await this.deps.authorizer.authorize(identity.user, identity.target, adapter.protocol, adapter.clientAddr, identity.level)
      .catch((err: unknown) => ({
        ok: false as const,
        // The store down says so (store/unreachable.ts words it); anything else stays vague to the client.
        error: isPortcullisError(err) && err.code === 'store-unavailable' ? err : new PortcullisError('no-active-grant', 'access check failed; try again or ask an admin'),
      }));
    if (d.ok) return d.auth;
    refuseSafely(adapter, { kind: 'access', error: d.error }, this.deps.log);
    return null;
  }
}
