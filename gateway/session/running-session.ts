// One authorized session's life, in order: start (session row, audit) and register with the live
// registry (expiry, revoke, kill, shutdown reach it from here on) → open the recording → issue the
// credential → connect upstream (secret wiped after) → grant still valid? → relay with taps, the
// gate, the idle/max limits and an abort signal → end exactly once with a reason → revoke the
// credential (fail-closed: a failure is logged and audited) → seal and index the recording.
// Before relaying, an end is a refusal in protocol words; after, it is the adapter's close.
import { join } from 'node:path';
import { PIPE_DEFAULTS, RecordingBudgetExceeded, type RecordingMeta, type SessionRecording } from '../../recorder/session-recording.js';
import type { SpanSealer } from '../../recorder/masked-spans.js';
import type { SessionTaps } from '../../recorder/taps.js';
import type { Authorization } from '../access/decider.js';
import { LOG, type Logger } from '../log/logger.js';
import { isPortcullisError, PortcullisError } from '../util/errors.js';
import { newId } from '../util/ids.js';
import type { ForwardRecord, ObservedEnd, ProtocolAdapter, SessionContext, SessionPolicy, SessionRefusal } from './adapter.js';
import type { IssuedCredential } from './credentials.js';
import { redactSecrets } from '../risk/flag-detail.js';
import { GatedAudit } from './gated-audit.js';
import { describeCommand, Gate, type GateCommand, type GateVerdict } from './gate.js';
import { DEFAULT_CONNECT_MS, defaultOpener, NO_TAPS, type PipelineDeps, refuseSafely, type SessionHandle } from './pipeline-deps.js';
import type { SessionStart } from './ports.js';
import type { RiskWatch } from './risk-port.js';
import { SessionLimits } from './session-limits.js';
import { closesAdapter, describeTermination, type TerminationReason } from './termination.js';
import { UpstreamFailure } from './upstream-failure.js';

type Phase = 'starting' | 'relaying' | 'ended';

export class RunningSession<U> implements SessionHandle {
  readonly id = newId('ses');
  readonly recordingDir: string;
  readonly settled: Promise<TerminationReason>;
  private readonly start: SessionStart;
  private readonly log: Logger;
  private readonly policy: SessionPolicy;
  private readonly abort = new AbortController();
  private readonly limits: SessionLimits;
  private readonly gate: Gate;
  private readonly gatedAudit = new GatedAudit();
  private phase: Phase = 'starting';
  private endReason: TerminationReason | null = null;
  private refused = false;
  private unregister: (() => void) | null = null;
  private recording: SessionRecording | null = null;
  private risk: RiskWatch | null = null;
  private issuing: Promise<IssuedCredential | null> = Promise.resolve(null);
  /** Whether the session row and session.started were written; the end is booked only after them. */
  private booked: Promise<boolean> = Promise.resolve(false);
  private resolveSettled: (r: TerminationReason) => void = () => {};

  /** When the policy's access window shuts, as last read (login, then each recheck). */
  private windowEndsAt: number | null;

  constructor(private readonly deps: PipelineDeps, private readonly adapter: ProtocolAdapter<U>, readonly auth: Authorization) {
    this.windowEndsAt = auth.windowEndsAt ?? null;
    const startedAt = deps.clock.now();
    this.recordingDir = join(deps.recordingsDir, this.id);
    this.start = { id: this.id, protocol: adapter.protocol, auth, clientAddr: adapter.clientAddr, startedAt, recordingDir: this.recordingDir };
    this.log = deps.log.child({ session: this.id, user: auth.user.name, target: auth.target.name, protocol: adapter.protocol });
    const p = auth.policy;
    // Without a policy (admin and break-glass grants) recording is required and keystrokes recorded.
    this.policy = {
      recordKeystrokes: p?.recordKeystrokes ?? true, captureFullOutput: p?.captureFullOutput ?? false,
      allowPortForwarding: p?.allowPortForwarding ?? false, recordingRequired: p?.recordingRequired ?? true,
    };
    this.limits = new SessionLimits(deps.scheduler, deps.clock, this.id, deps.limits.idleMs[adapter.frontEnd], deps.limits.maxSessionMs, (r) => this.end(r));
    this.gate = new Gate(deps.gateRules, {
      user: auth.user.name, target: auth.target.name, protocol: adapter.protocol, allowPortForwarding: this.policy.allowPortForwarding,
      roles: auth.user.roles, targetTags: auth.target.tags, level: auth.grant.level,
    });
    this.settled = new Promise((r) => { this.resolveSettled = r; });
  }

  get isEnded(): boolean {
    return this.endReason !== null;
  }

  terminate(reason: TerminationReason): void {
    this.end(reason);
  }

  /** Runs the session up to relaying; null when it ended before (the client was refused). */
  async run(): Promise<SessionHandle | null> {
    const { deps, adapter } = this;
    let storeDown: PortcullisError | null = null;
    this.booked = deps.journal.started(this.start).then(() => true, (err: unknown) => {
      this.log.error({ err: errText(err) }, LOG.sessionStartFailed);
      // The store unreachable is worded for the client by the store wrapper (store/unreachable.ts).
      if (isPortcullisError(err) && err.code === 'store-unavailable') storeDown = err;
      return false;
    });
    if (!(await this.booked)) {
      // No books, no session: fail closed before anything reaches the target.
      this.refuse({ kind: 'access', error: storeDown ?? new PortcullisError('unavailable', 'the gateway could not start the session; try again') });
      this.phase = 'ended';
      this.endReason ??= 'adapter-error';
      this.resolveSettled('adapter-error');
      return null;
    }
    // Ended (gateway shutdown) while the books were being opened: finish() closes them; never
    // register, record or issue anything for it.
    if (this.endReason) return null;
    this.unregister = deps.live.register({
      id: this.id, protocol: adapter.protocol, user: this.auth.user.name, target: this.auth.target.name, grantId: this.auth.grant.id, level: this.auth.grant.level,
      clientAddr: adapter.clientAddr, startedAt: this.start.startedAt, expiresAt: this.auth.grant.expiresAt, windowEndsAt: this.auth.windowEndsAt ?? null,
      warn: (m) => this.warn(m),
      close: (reason) => this.end(reason),
    });
    const sealer = await deps.spanSealer().catch((err: unknown) => {
      this.log.error({ err: errText(err) }, LOG.sessionSealerUnavailable);
      return undefined;
    });
    if (this.endReason) return null;
    const recorded = this.openRecording(sealer);
    if (this.endReason) return null;
    // Booked: the risk watch's session-start detectors run from here, beside the upstream login.
    const watched = deps.risk?.watch(this.start, recorded);
    this.risk = watched?.watch ?? null;
    const taps = watched?.taps ?? recorded;

    // A credential source that says why in words the client may see (an UpstreamFailure) is
    // passed on; anything else is logged and refused in general terms.
    let unusable: UpstreamFailure | null = null;
    this.issuing = deps.credentials.issue(this.auth.grant, this.auth.target).catch((err: unknown) => {
      this.log.error({ err: errText(err) }, LOG.sessionCredentialFailed);
      if (err instanceof UpstreamFailure) unusable = err;
      return null;
    });
    const credential = await this.issuing;
    if (this.endReason) return null;
    if (!credential) {
      const failure = unusable ?? new UpstreamFailure('credential', `cannot obtain a credential for ${this.auth.target.name}`);
      void deps.journal.upstreamFailed(this.start, failure.kind).catch((e: unknown) => this.logBooks(e));
      this.refuse({ kind: 'upstream', failure });
      this.end('credential-failed');
      return null;
    }

    const ctx = this.context(taps);
    let upstream: U;
    try {
      upstream = await this.connectWithin(ctx, credential);
    } catch (err) {
      const failure = err instanceof UpstreamFailure ? err : new UpstreamFailure('unreachable', `cannot connect to ${this.auth.target.name}`);
      if (!(err instanceof UpstreamFailure)) this.log.warn({ err: errText(err) }, LOG.sessionConnectError);
      // The failure's message is safe to show (UpstreamFailure's contract); for TLS it names the
      // certificate that was refused, which the admin needs in the trail.
      void deps.journal.upstreamFailed(this.start, failure.kind, failure.kind === 'tls' ? failure.message : undefined).catch((e: unknown) => this.logBooks(e));
      this.refuse({ kind: 'upstream', failure });
      this.end('upstream-failed');
      return null;
    } finally {
      credential.wipe();
    }
    // The grant may have ended while we were logging in: the live registry ended us, or it ended
    // between its last timer and now.
    const valid = this.endReason ? null : await deps.authorizer.stillValid(this.auth).catch(() => ({ ok: false as const, reason: 'grant-revoked' as const }));
    if (this.endReason || !valid || !valid.ok) {
      adapter.release(upstream);
      if (valid && !valid.ok) this.end(valid.reason);
      return null;
    }
    this.phase = 'relaying';
    this.limits.arm(this.start.startedAt);
    try {
      await adapter.relay(ctx, upstream);
    } catch (err) {
      this.adapterError(err);
    }
    return this;
  }

  /**
   * The adapter's connect, bounded by the connect timeout on the shared scheduler. A late upstream
   * (the target answered after the client was refused) is released; the adapter sees the session's
   * signal abort when it ends and drops its half-open socket.
   */
  private connectWithin(ctx: SessionContext, credential: Parameters<ProtocolAdapter<U>['connect']>[1]): Promise<U> {
    const ms = this.deps.limits.connectMs ?? DEFAULT_CONNECT_MS;
    const key = `connect:${this.id}`;
    const attempt = this.adapter.connect(ctx, credential);
    return new Promise<U>((resolve, reject) => {
      let late = false;
      this.deps.scheduler.set(key, this.deps.clock.now() + ms, () => {
        late = true;
        reject(new UpstreamFailure('timeout', `${this.auth.target.name} did not complete the connection within ${ms / 1000} s (connect timeout)`));
      });
      attempt.then((u) => {
        this.deps.scheduler.delete(key);
        if (late) this.adapter.release(u);
        else resolve(u);
      }, (err: unknown) => {
        this.deps.scheduler.delete(key);
        if (!late) reject(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }

  private openRecording(sealer: SpanSealer | undefined): SessionTaps {
    const { auth } = this;
    const meta: RecordingMeta = {
      session: this.id, protocol: this.adapter.protocol, user: auth.user.name, target: auth.target.name, grant: auth.grant.id,
      reason: auth.grant.reason, ticket: auth.grant.ticket, client_addr: this.adapter.clientAddr,
      started_at: new Date(this.start.startedAt).toISOString(), ...(auth.link ? { link: auth.link } : {}), level: auth.grant.level,
    };
    try {
      const opener = this.deps.openRecording ?? defaultOpener;
      const { pipeInputCap = PIPE_DEFAULTS.inputCap, pipeOutputCap = PIPE_DEFAULTS.outputCap } = this.deps.limits;
      const space = this.deps.recordingSpace;
      const onFailure = (err: Error): void => {
        if (err instanceof RecordingBudgetExceeded) { this.recordingOverBudget(err); return; }
        // A failed write may be the volume filling faster than the once-a-second check (another
        // process, ENOSPC): measure now, so the next login is refused in storage words.
        void space?.measure();
        this.recordingFailed(err.message);
      };
      const rec = opener(this.recordingDir, meta, () => this.deps.clock.now(), onFailure, {
        keystrokes: this.policy.recordKeystrokes, ...(sealer ? { sealer } : {}), maxBytes: this.deps.recordingBudgetBytes ?? 0,
        ...(space ? { tally: (n: number) => space.wrote(n) } : {}),
        // Input past the cap was refused, never forwarded: the record stays whole and the session
        // ends whatever the recording policy (an unrecorded command is what the cap prevents).
        pipe: { inputCap: pipeInputCap, outputCap: pipeOutputCap, onInputCap: (detail) => this.inputCapExceeded(detail) },
      });
      this.recording = rec;
      this.deps.liveRecordings.set(this.id, rec);
      return rec;
    } catch (err) {
      this.recordingFailed(errText(err));
      return NO_TAPS;
    }
  }

  private context(taps: SessionTaps): SessionContext {
    const limits = this.limits;
    const risk = this.risk;
    return {
      id: this.id, auth: this.auth, policy: this.policy, log: this.log, signal: this.abort.signal, taps,
      gatePassThrough: this.gate.passThrough,
      check: (cmd) => this.check(cmd, taps),
      reauthorize: (what) => this.reauthorize(what),
      activity: () => limits.touch(),
      ...(risk?.countsBytes ? { sentToClient: (n: number) => risk.sent(n) } : {}),
      clientAway: (graceMs) => { if (!this.endReason) limits.away(graceMs); },
      clientBack: () => limits.back(),
      ended: (reason: ObservedEnd, detail?: string) => {
        if (detail) this.log.warn({ detail }, LOG.sessionAdapterReported);
        this.end(reason);
      },
      recordingFailed: (detail) => this.recordingFailed(detail),
      weakUpstreamAuth: (method) => {
        this.log.warn({ method }, LOG.upstreamWeakAuth);
        taps.event('weak_upstream_auth', { method });
        void this.deps.journal.weakUpstreamAuth(this.start, method).catch((e: unknown) => this.logBooks(e));
      },
      forwarded: (f: ForwardRecord) => {
        taps.event('forward', { host: f.host, port: f.port, allowed: f.allowed, bytes_in: f.bytesIn, bytes_out: f.bytesOut });
        void this.deps.journal.forwarded(this.start, f).catch((e: unknown) => this.logBooks(e));
      },
      guard: <T>(fn: (arg: T) => void) => (arg: T): void => {
        try {
          fn(arg);
        } catch (err) {
          this.adapterError(err);
        }
      },
    };
  }

  /** The periodic re-check (pipeline.ts): ends a relaying session whose access is gone. */
  async recheck(): Promise<void> {
    if (this.phase !== 'relaying') return;
    const valid = await this.deps.authorizer.stillValid(this.auth).catch((err: unknown) => {
      // A store hiccup is not a reason to cut: the next round asks again.
      this.log.error({ err: errText(err), what: 'recheck' }, LOG.sessionReauthorizeFailed);
      return null;
    });
    if (valid && !valid.ok) this.end(valid.reason);
    // A changed access window moves the cut (and its warning) either way.
    else if (valid && valid.windowEndsAt !== this.windowEndsAt) {
      this.windowEndsAt = valid.windowEndsAt;
      this.deps.live.retimeWindow(this.id, valid.windowEndsAt);
    }
  }

  private async reauthorize(what: 'channel' | 'forward'): Promise<string | null> {
    const target = this.auth.target.name;
    if (this.endReason) return describeTermination(this.endReason, target);
    let valid: Awaited<ReturnType<PipelineDeps['authorizer']['stillValid']>>;
    try {
      valid = await this.deps.authorizer.stillValid(this.auth);
    } catch (err) {
      // Fail closed for the new channel only: a store hiccup is not a reason to cut what runs.
      this.log.error({ err: errText(err), what }, LOG.sessionReauthorizeFailed);
      return 'access check failed; try again';
    }
    if (!valid.ok) {
      this.end(valid.reason);
      return describeTermination(valid.reason, target);
    }
    if (this.endReason) return describeTermination(this.endReason, target);
    if (what === 'forward' && valid.policy && !valid.policy.allowPortForwarding) {
      return `port forwarding is no longer allowed by policy ${valid.policy.name}`;
    }
    return null;
  }

  private check(cmd: GateCommand, taps: SessionTaps): GateVerdict {
    const v = this.gate.check(cmd);
    if (v.verdict === 'allow') return v;
    const command = describeCommand(cmd);
    taps.event('gate', { verdict: v.verdict, rule: v.rule, command });
    // The recording keeps every verdict; the audit chain and the log get the first few per rule
    // and a count at the end (gated-audit.ts): a loop of denied statements must not flood them.
    if (this.gatedAudit.admit(v.verdict, v.rule)) {
      // Passwords (ALTER ROLE ... PASSWORD '...') stay in the recording only: logs and the audit
      // chain are read, exported and shipped by more people than the session's recording.
      const shown = redactSecrets(command);
      this.log.info({ verdict: v.verdict, rule: v.rule, command: shown }, LOG.sessionGated);
      void this.deps.journal.gated(this.start, { verdict: v.verdict, rule: v.rule, command: shown }).catch((e: unknown) => this.logBooks(e));
    }
    this.risk?.gated(v.verdict, v.rule, command);
    return v;
  }

  private warn(message: string): void {
    if (this.phase !== 'relaying') return;
    this.log.info({ message }, LOG.sessionWarned);
    this.recording?.marker('expiry warning');
    try {
      this.adapter.warn(message);
    } catch (err) {
      this.adapterError(err);
    }
  }

  private recordingFailed(detail: string): void {
    this.log.error({ err: detail, required: this.policy.recordingRequired }, LOG.recordingFailed);
    // Fail closed unless the policy explicitly lets the session go on unrecorded.
    if (this.policy.recordingRequired) this.end('recording-failed');
  }

  private inputCapExceeded(detail: string): void {
    this.log.warn({ detail }, LOG.sessionInputCap);
    this.end('input-cap-exceeded');
  }

  /** The recording reached its byte budget and stopped; the session ends unless the policy lets it go on unrecorded. */
  private recordingOverBudget(err: RecordingBudgetExceeded): void {
    this.log.warn({ limit: err.limit, required: this.policy.recordingRequired }, LOG.recordingStopped);
    if (this.policy.recordingRequired) this.end('recording-budget');
  }

  /**
   * The recordings volume fell below its watermark. What is left of it is kept for sealing the
   * recordings that are open: a session that must be recorded ends now, with the reason said to
   * its user (before the disk is full, so what it did up to now is written whole); one whose policy
   * lets it go on unrecorded stops recording.
   */
  recordingSpaceLow(message: string): void {
    if (this.endReason) return;
    if (this.policy.recordingRequired) {
      this.end('recording-failed', message);
    } else {
      this.log.warn({ detail: message }, LOG.recordingStopped);
      this.recording?.stop('space', `recording stopped: ${message}`);
    }
  }

  private adapterError(err: unknown): void {
    this.log.error({ err: errText(err), stack: err instanceof Error ? err.stack : undefined }, LOG.sessionAdapterError);
    this.end('adapter-error');
  }

  private refuse(refusal: SessionRefusal): void {
    if (this.refused) return;
    this.refused = true;
    refuseSafely(this.adapter, refusal, this.log);
  }

  /** The one way a session ends. Idempotent: the first reason wins. `detail` replaces the reason's stock message. */
  private end(reason: TerminationReason, detail?: string): void {
    if (this.endReason) return;
    this.endReason = reason;
    const endedAt = this.deps.clock.now();
    const wasRelaying = this.phase === 'relaying';
    this.phase = 'ended';
    this.limits.disarm();
    this.unregister?.();
    this.deps.liveRecordings.delete(this.id);
    if (wasRelaying) {
      if (closesAdapter(reason)) {
        this.recording?.marker(`cut: ${reason}`);
        try {
          this.adapter.close(reason, `Portcullis: ${detail ?? describeTermination(reason, this.auth.target.name)}`);
        } catch (err) {
          this.log.error({ err: errText(err) }, LOG.sessionCloseFailed);
        }
      }
    } else {
      // Still logging in: a detail (today only the recordings volume's) is the refusal itself.
      this.refuse({ kind: 'access', error: detail ? new PortcullisError('storage-full', detail) : endedWhileStarting(reason, this.auth.target.name) });
    }
    this.abort.abort();
    void this.finish(reason, endedAt);
  }

  /** After the end: the books, then the credential, then the recording. Never throws. */
  private async finish(reason: TerminationReason, endedAt: number): Promise<void> {
    const { journal } = this.deps;
    // An end that raced the start (shutdown while the row was being written) books after it, so
    // there is exactly one session.ended, after its session.started; no row, no end to book.
    if (!(await this.booked)) { this.resolveSettled(reason); return; }
    for (const g of this.gatedAudit.summaries()) {
      const command = `${g.more} more ${g.verdict === 'deny' ? 'denials' : 'flags'} by this rule in the session, not audited one by one (each is in the recording)`;
      await journal.gated(this.start, { verdict: g.verdict, rule: g.rule, command }).catch((e: unknown) => this.logBooks(e));
    }
    if (this.adapter.protocol !== 'ssh') await journal.statements(this.start, this.recording?.statements ?? 0).catch((e: unknown) => this.logBooks(e));
    await journal.ended(this.start, endedAt, reason).catch((e: unknown) => this.logBooks(e));
    const credential = await this.issuing;
    if (credential) {
      try {
        await this.deps.credentials.revoke(credential);
      } catch (err) {
        this.log.error({ err: errText(err), source: credential.source }, LOG.credentialRevokeFailed);
        await journal.credentialRevokeFailed(this.start, credential.source, errText(err)).catch((e: unknown) => this.logBooks(e));
      }
    }
    if (this.recording) {
      try {
        await this.recording.end(reason);
        // Keyframes and search indexing wait their turn in the bounded post-close pool.
        if (this.deps.postClose) this.deps.postClose.enqueue({ session: this.id, dir: this.recordingDir });
        else await journal.index(this.start);
      } catch (err) {
        this.log.error({ err: errText(err) }, LOG.recordingSealFailed);
      }
    }
    this.log.info({ reason, seconds: Math.round((endedAt - this.start.startedAt) / 1000) }, LOG.sessionClosed);
    this.resolveSettled(reason);
  }

  private logBooks(err: unknown): void {
    this.log.error({ err: errText(err) }, LOG.sessionJournalFailed);
  }
}

/** What a client that is still logging in is told when its session ends before relaying. */
function endedWhileStarting(reason: TerminationReason, target: string): PortcullisError {
  switch (reason) {
    case 'window-closed':
      return new PortcullisError('outside-window', `access to ${target} ended during login: ${describeTermination(reason, target)}`);
    case 'grant-expired': case 'grant-revoked': case 'breakglass-denied': case 'target-removed': case 'target-changed': case 'policy-removed': case 'policy-narrowed':
      return new PortcullisError('no-active-grant', `access to ${target} ended during login: ${describeTermination(reason, target)}`);
    case 'user-disabled': case 'user-removed':
      return new PortcullisError('user-disabled', describeTermination(reason, target));
    case 'closed-by-client': case 'upstream-closed': case 'killed-by-admin': case 'idle-timeout': case 'recording-failed': case 'recording-budget':
    case 'gateway-shutdown': case 'gateway-crashed': case 'protocol-error': case 'upstream-failed': case 'credential-failed': case 'max-session-length': case 'adapter-error':
    case 'input-cap-exceeded': case 'statement-too-large': case 'node-lost':
      return new PortcullisError('unavailable', describeTermination(reason, target));
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
