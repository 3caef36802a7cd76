// The database session flow shared by the PostgreSQL and MySQL adapters, so the two cannot drift
// apart on any security step: authorize the authenticated user for the target (shared decider),
// start the brokered session, open its recording with a statement log, log in upstream with the
// vaulted credential (auditing a failure and ending the session), and count statements at the end.
// Adapters supply the wire: how to reach the target, and how to say no.
import { SessionRecording } from '../../recorder/session-recording.js';
import type { AccessDecider, Authorization } from '../access/decider.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { TargetKind, UserRecord } from '../store/records.js';
import type { Clock } from '../util/clock.js';
import { PortcullisError } from '../util/errors.js';
import type { CheckedOutCredential } from '../vault/credential-vault.js';
import type { BrokeredSession, SessionBroker, SessionControls } from './broker.js';

export interface DbSessionDeps {
  decider: AccessDecider;
  broker: SessionBroker;
  audit: AuditLog;
  clock: Clock;
}

export interface OpenDbSession<U> {
  session: BrokeredSession;
  auth: Authorization;
  upstream: U;
  /** Appends one statement record (NDJSON) to the session's recording. */
  record(statement: object): void;
}

/** The target refused or could not be reached; `message` is safe to show the client. */
export class DbUpstreamFailure extends Error {
  constructor(readonly kind: string, message: string, readonly targetCode?: string) {
    super(message);
  }
}

export async function openDbSession<U>(
  deps: DbSessionDeps,
  req: { user: UserRecord; target: string; kind: Exclude<TargetKind, 'ssh'>; addr: string; controls: SessionControls },
  connect: (auth: Authorization, credential: CheckedOutCredential) => Promise<U>,
  /** Closes an upstream that is no longer wanted (the grant ended while logging in). */
  release: (upstream: U) => void,
): Promise<OpenDbSession<U>> {
  const d = await deps.decider.authorize(req.user, req.target, req.kind, req.addr);
  if (!d.ok) throw d.error;
  const auth = d.auth;
  const session = deps.broker.start(auth, req.kind, req.addr, req.controls);
  const recording = new SessionRecording(session.recordingDir, {
    session: session.id, protocol: req.kind, user: auth.user.name, target: auth.target.name, grant: auth.grant.id,
    reason: auth.grant.reason, ticket: auth.grant.ticket, client_addr: req.addr, started_at: new Date(session.startedAt).toISOString(),
  }, () => deps.clock.now(), (err) => {
    session.log.error({ err: err.message, required: session.recordingRequired }, 'recording.failed');
    if (session.recordingRequired) session.terminate('recording-failed');
  });
  const statements = recording.capture('statements.ndjson');
  let count = 0;
  session.onEnd((reason) => {
    deps.audit.record('session.statements', auth.user.name, { session: session.id, count });
    void recording.close(reason).then(() => session.indexRecording());
  });
  let upstream: U;
  try {
    upstream = await connect(auth, await session.credential());
  } catch (err) {
    const kind = err instanceof DbUpstreamFailure ? err.kind : 'unreachable';
    deps.audit.record('session.upstream_failed', auth.user.name, { session: session.id, target: auth.target.name, reason: kind });
    session.finish('upstream-failed');
    throw err instanceof DbUpstreamFailure ? err : new DbUpstreamFailure('unreachable', `cannot connect to ${auth.target.name}`);
  }
  if (session.isEnded) {
    release(upstream);
    throw new PortcullisError('no-active-grant', `access to ${auth.target.name} ended during login`);
  }
  return {
    session, auth, upstream,
    record: (statement) => { count++; statements.write(JSON.stringify(statement) + '\n'); },
  };
}
