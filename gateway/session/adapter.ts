// The contract between the session pipeline and a protocol front end (SSH, PostgreSQL, MySQL, the
// vendor browser terminal). An adapter translates: it identifies who wants which target, asks for
// the secret and says no in its protocol's words, logs in upstream with the credential it is handed,
// relays bytes while tapping them to the recorder and passing commands through the gate, and says
// warnings and the final reason in protocol words. It decides nothing: authorization, credentials,
// recording policy, timeouts and the end of the session belong to the pipeline (pipeline.ts).
// Adapters reach vault/, audit/ and store/ only through what this module hands them.
import type { SessionTaps } from '../../recorder/taps.js';
import type { Authorization } from '../access/decider.js';
import type { Logger } from '../log/logger.js';
import type { UserRecord } from '../store/records.js';
import type { PortcullisError } from '../util/errors.js';
import type { UpstreamCredential } from './credentials.js';
import type { GateCommand, GateVerdict } from './gate.js';
import type { TerminationReason } from './termination.js';
import type { WeakUpstreamAuth } from './upstream-auth.js';
import type { UpstreamFailure } from './upstream-failure.js';

// Record types adapters may read (never write): re-exported so protocol folders need no store/ import.
export type { GrantRecord, TargetRecord, UserRecord } from '../store/records.js';
export type { Authorization } from '../access/decider.js';

/** The session row's protocol. */
export type Protocol = 'ssh' | 'postgres' | 'mysql';
/** The front end, for per-front-end settings (idle timeout): the browser terminal is an SSH session. */
export type FrontEnd = Protocol | 'web-terminal';

/**
 * Who wants which target. `authorized` is for front ends whose identity is itself an authorization
 * made by the access layer (a one-time link, an SSH login that had to be authorized during auth to
 * refuse in auth words); the pipeline still checks the grant is valid before relaying.
 */
export type Identity =
  /** `level`: the level named in USER+TARGET+LEVEL (absent: the least privileged one the user holds). */
  | { kind: 'user'; user: UserRecord; target: string; level?: string | null }
  | { kind: 'authorized'; auth: Authorization };

/** Why the pipeline says no before relaying; the adapter words it. */
export type SessionRefusal =
  /** The client's own handshake failed (bad password, malformed input, TLS required, ...). */
  | { kind: 'client'; error: unknown }
  /** The access layer refused (no grant, unknown target, disabled) or access ended during login. */
  | { kind: 'access'; error: PortcullisError }
  /** The target refused or could not be reached, or no credential could be issued. */
  | { kind: 'upstream'; failure: UpstreamFailure };

/** What the policy says about this session, for adapters that tap differently by it. */
export interface SessionPolicy {
  readonly recordKeystrokes: boolean;
  readonly captureFullOutput: boolean;
  readonly allowPortForwarding: boolean;
  readonly recordingRequired: boolean;
}

/** Ends an adapter may observe and report (the rest are the pipeline's). */
export type ObservedEnd = 'closed-by-client' | 'upstream-closed' | 'protocol-error' | 'statement-too-large';

export interface ForwardRecord {
  host: string;
  port: number;
  allowed: boolean;
  bytesIn: number;
  bytesOut: number;
}

/** What a running session gives its adapter. */
export interface SessionContext {
  readonly id: string;
  readonly auth: Authorization;
  readonly policy: SessionPolicy;
  readonly log: Logger;
  /** Aborted once the session has ended, for whatever reason. */
  readonly signal: AbortSignal;
  readonly taps: SessionTaps;
  /** True when no gate rule looks at statements/commands/lines: skip `check` on the byte path. */
  readonly gatePassThrough: boolean;
  /**
   * Authorizes a new SSH channel or forward on a running connection again, from the store (user,
   * target, policy, grant as they are now): null when it may go ahead, else the words to refuse
   * it with. When access itself ended the session ends too, with its reason; a forward is also
   * refused when the policy no longer allows port forwarding. Never rejects.
   */
  reauthorize(what: 'channel' | 'forward'): Promise<string | null>;
  /** The gate: call before forwarding a command; deny and flag verdicts are recorded and audited here. */
  check(cmd: GateCommand): GateVerdict;
  /**
   * Bytes sent to the client (risk: mass export). Called per chunk on the relay path: one addition
   * and a comparison. Optional so adapters' test contexts need not provide it.
   */
  sentToClient?(bytes: number): void;
  /** Something happened on either leg (idle timeout). Cheap: one clock read, no allocation. */
  activity(): void;
  /**
   * The client went away but may come back (a browser reload): unless `clientBack()` comes within
   * `graceMs`, the pipeline ends the session as closed by the client.
   */
  clientAway(graceMs: number): void;
  clientBack(): void;
  /** The adapter saw the session end. Idempotent; the first end wins. */
  ended(reason: ObservedEnd, detail?: string): void;
  /** Something the policy wants recorded could not be (e.g. unparseable SFTP): the pipeline decides. */
  recordingFailed(detail: string): void;
  /**
   * The upstream login is about to use a weak method the target opted in to (upstream-auth.ts):
   * audited (upstream.weak_auth) and marked in the recording. Called before the method sends anything.
   */
  weakUpstreamAuth(method: WeakUpstreamAuth): void;
  /** A port forward finished (or was refused): audited and recorded. */
  forwarded(f: ForwardRecord): void;
  /**
   * Wraps a one-argument event handler (a 'data' listener) so a throw ends this session only
   * (reason adapter-error) instead of taking the process down. Wrap once at setup: the wrapper
   * takes exactly one argument, so a call allocates nothing (no rest array) on the byte path.
   */
  guard<T>(fn: (arg: T) => void): (arg: T) => void;
}

export interface ProtocolAdapter<U> {
  readonly protocol: Protocol;
  readonly frontEnd: FrontEnd;
  readonly clientAddr: string;
  /** Runs the client handshake up to "this user wants this target"; null: not a session (e.g. a cancel request). */
  identify(): Promise<Identity | null>;
  /** Says no in protocol words and closes the client. Called at most once, instead of relay. */
  refuse(refusal: SessionRefusal): void;
  /** Logs in upstream; wipe the secret as soon as the login is done. Throw UpstreamFailure to refuse. */
  connect(ctx: SessionContext, credential: UpstreamCredential): Promise<U>;
  /** Drops an upstream that is no longer wanted (the session ended while logging in). */
  release(upstream: U): void;
  /** Starts relaying (tell the client it is in, wire both legs); returns once relaying runs. */
  relay(ctx: SessionContext, upstream: U): void | Promise<void>;
  /** A one-line notice to the user in protocol words (expiry warning). */
  warn(message: string): void;
  /** The session ended for `reason`: tell the user `message` where possible, close both legs. Idempotent. */
  close(reason: TerminationReason, message: string): void;
}
