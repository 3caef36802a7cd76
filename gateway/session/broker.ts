// The session pipeline every protocol adapter goes through once a user is authenticated and
// authorized (AccessDecider): record the session, audit its start, hand the adapter the vaulted
// credential for the upstream leg only, register it with the live registry (expiry watch, revoke,
// kill, shutdown), and end it exactly once with a termination reason. Adapters translate; the
// decisions and the bookkeeping live here so the protocols cannot drift apart.
import { join } from 'node:path';
import type { Authorization } from '../access/decider.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Logger } from '../log/logger.js';
import { LOG } from '../log/logger.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { newId } from '../util/ids.js';
import type { CheckedOutCredential, CredentialVault } from '../vault/credential-vault.js';
import type { LiveSessions } from './live-sessions.js';
import { indexRecording } from './search-index.js';
import { describeTermination, type TerminationReason } from './termination.js';

export type Protocol = 'ssh' | 'postgres' | 'mysql';

export interface SessionControls {
  /** One-line notice to the user in protocol words. */
  warn(message: string): void;
  /** Cut the session: tell the user why (message), close both legs. Called at most once. */
  close(reason: TerminationReason, message: string): void;
}

export interface BrokerDeps {
  store: Store;
  audit: AuditLog;
  clock: Clock;
  live: LiveSessions;
  creds: CredentialVault;
  log: Logger;
  recordingsDir: string;
}

export class SessionBroker {
  constructor(private readonly deps: BrokerDeps) {}

  start(auth: Authorization, protocol: Protocol, clientAddr: string, controls: SessionControls): BrokeredSession {
    return new BrokeredSession(this.deps, auth, protocol, clientAddr, controls);
  }
}

export class BrokeredSession {
  readonly id = newId('ses');
  readonly startedAt: number;
  readonly log: Logger;
  readonly recordingDir: string;
  private ended: TerminationReason | null = null;
  private readonly unregister: () => void;
  /** The session row and `session.started` entry; the credential is handed out only once they are stored. */
  private readonly started: Promise<void>;
  private readonly endHooks: Array<(reason: TerminationReason) => void> = [];

  constructor(
    private readonly deps: BrokerDeps,
    readonly auth: Authorization,
    readonly protocol: Protocol,
    readonly clientAddr: string,
    private readonly controls: SessionControls,
  ) {
    this.startedAt = deps.clock.now();
    this.recordingDir = join(deps.recordingsDir, this.id);
    this.log = deps.log.child({ session: this.id, user: auth.user.name, target: auth.target.name, protocol });
    this.started = deps.store.transaction(async () => {
      await deps.store.sessions.insert({
        id: this.id, protocol, userId: auth.user.id, targetId: auth.target.id, grantId: auth.grant.id, clientAddr,
        startedAt: this.startedAt, endedAt: null, endReason: null, recording: this.recordingDir,
      });
      await deps.audit.append('session.started', auth.user.name, {
        session: this.id, user: auth.user.name, target: auth.target.name, protocol, grant: auth.grant.id, addr: clientAddr,
        ...(auth.link ? { link: auth.link } : {}),
      });
    });
    // Observed here so a failure is never unhandled; credential() rethrows it to the adapter.
    this.started.catch((err: unknown) => this.log.error({ err }, LOG.sessionStartFailed));
    this.unregister = deps.live.register({
      id: this.id, protocol, user: auth.user.name, target: auth.target.name, grantId: auth.grant.id, clientAddr,
      startedAt: this.startedAt, expiresAt: auth.grant.expiresAt,
      warn: (m) => {
        this.log.info({ message: m }, LOG.sessionWarned);
        controls.warn(m);
      },
      close: (reason) => this.terminate(reason),
    });
  }

  get isEnded(): boolean {
    return this.ended !== null;
  }

  /**
   * The vaulted credential for the upstream login, once the session's start is on record (fails
   * closed: no record, no credential). Wipe it as soon as the login is done.
   */
  async credential(): Promise<CheckedOutCredential> {
    await this.started;
    return this.deps.creds.checkout(this.auth.grant, this.auth.target);
  }

  /** Indexes the session's closed recording for search (called once its files are complete). */
  indexRecording(): Promise<number> {
    return indexRecording(this.deps.store, this.recordingDir, this.id, this.log);
  }

  /** Whether the session's policy records keystrokes (default yes when no policy applies). */
  get recordKeystrokes(): boolean {
    return this.auth.policy?.recordKeystrokes ?? true;
  }

  get allowPortForwarding(): boolean {
    return this.auth.policy?.allowPortForwarding ?? false;
  }

  get captureFullOutput(): boolean {
    return this.auth.policy?.captureFullOutput ?? false;
  }

  /** Without a policy (admin and break-glass grants) recording is required. */
  get recordingRequired(): boolean {
    return this.auth.policy?.recordingRequired ?? true;
  }

  /** Stores the end after the start (an end can never be stored first); failures are logged. */
  private async recordEnd(reason: TerminationReason, endedAt: number): Promise<void> {
    try {
      await this.started;
      await this.deps.store.transaction(async () => {
        await this.deps.store.sessions.end(this.id, endedAt, reason);
        await this.deps.audit.append('session.ended', this.auth.user.name, { session: this.id, reason });
      });
    } catch (err) {
      this.log.error({ err }, LOG.sessionClosed);
    }
  }

  onEnd(fn: (reason: TerminationReason) => void): void {
    this.endHooks.push(fn);
  }

  /** Ends from the gateway's side: tells the user why and closes both legs. */
  terminate(reason: TerminationReason): void {
    if (this.ended) return;
    this.controls.close(reason, `Portcullis: ${describeTermination(reason, this.auth.target.name)}`);
    this.finish(reason);
  }

  /** Records an end that already happened (client or upstream closed). Idempotent. */
  finish(reason: TerminationReason): void {
    if (this.ended) return;
    this.ended = reason;
    this.unregister();
    for (const fn of this.endHooks) {
      try {
        fn(reason);
      } catch (err) {
        this.log.error({ err }, LOG.sessionClosed);
      }
    }
    void this.recordEnd(reason, this.deps.clock.now());
    this.log.info({ reason, seconds: Math.round((this.deps.clock.now() - this.startedAt) / 1000) }, LOG.sessionClosed);
  }
}
