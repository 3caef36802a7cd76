// Why a session ended. A closed union: every switch over it is exhaustive, and the strings are the
// contract stored in session records and `session.ended` audit events.

export type TerminationReason =
  | 'closed-by-client'
  | 'upstream-closed'
  | 'grant-expired'
  /** The grant's policy's access window shut (access/windows.ts): cut like at expiry; the grant stays for the next opening. */
  | 'window-closed'
  | 'grant-revoked'
  | 'breakglass-denied'
  /** Access taken away at its root: the grant was revoked because of it (gateway/access/revocation.ts). */
  | 'user-disabled'
  | 'user-removed'
  | 'target-removed'
  /** The target's address, kind or account changed under a live session: it no longer names the host connected to. */
  | 'target-changed'
  | 'policy-removed'
  | 'policy-narrowed'
  | 'killed-by-admin'
  | 'idle-timeout'
  | 'recording-failed'
  /** The session's recording reached its byte budget (recordings.sessionBudget). */
  | 'recording-budget'
  | 'gateway-shutdown'
  /** Found open at the next start after the gateway died without draining (kill -9, OOM, power loss). */
  | 'gateway-crashed'
  | 'protocol-error'
  | 'upstream-failed'
  | 'credential-failed'
  | 'max-session-length'
  | 'adapter-error'
  /** A channel without a terminal sent more input than the session records whole (ssh.pipeInputCap). */
  | 'input-cap-exceeded'
  /** A database statement longer than `statements.maxBytes` was refused (never run) and the session ended. */
  | 'statement-too-large'
  /** The node that brokered the session stopped beating; another node ended it (several nodes, DESIGN.md 3c). */
  | 'node-lost';

export function describeTermination(r: TerminationReason, target: string): string {
  switch (r) {
    case 'closed-by-client': return 'session closed by the client';
    case 'upstream-closed': return `${target} closed the connection`;
    case 'grant-expired': return `your access to ${target} has ended (grant expired); request more with: portcullis request ${target} --for 30m --reason "..."`;
    case 'window-closed': return `your access window for ${target} has closed; your grant stays and works again when the window opens`;
    case 'grant-revoked': return `your access to ${target} was revoked`;
    case 'breakglass-denied': return `break-glass access to ${target} was denied on review`;
    case 'user-disabled': return 'your Portcullis account was disabled; ask a Portcullis admin';
    case 'user-removed': return 'your Portcullis account was removed';
    case 'target-removed': return `the target ${target} was removed from Portcullis`;
    case 'target-changed': return `the target ${target} was changed by a Portcullis admin; connect again`;
    case 'policy-removed': return `the policy your access to ${target} stood on was removed`;
    case 'policy-narrowed': return `the policy your access to ${target} stood on no longer covers it; request again with: portcullis request ${target} --for 30m --reason "..."`;
    case 'killed-by-admin': return 'session ended by a Portcullis admin';
    case 'idle-timeout': return 'session closed after being idle too long';
    case 'recording-failed': return 'session ended because it could not be recorded';
    case 'recording-budget': return 'session ended because its recording reached the byte budget a session may record; open a new session to go on';
    case 'gateway-shutdown': return 'the Portcullis gateway is shutting down';
    case 'gateway-crashed': return 'the Portcullis gateway stopped unexpectedly; the session was closed when it restarted';
    case 'protocol-error': return 'session ended after a protocol error';
    case 'upstream-failed': return `could not connect to ${target}`;
    case 'credential-failed': return `could not obtain a credential for ${target}`;
    case 'max-session-length': return 'session closed after reaching the maximum session length';
    case 'statement-too-large': return 'session ended: a statement over the gateway\'s size limit was refused and not run';
    case 'adapter-error': return 'session ended after an internal error in the gateway';
    case 'node-lost': return 'the Portcullis node that carried this session stopped; connect again (another node takes over)';
    case 'input-cap-exceeded': return 'session ended: input sent without a terminal passed the size Portcullis records whole (ssh.pipeInputCap); send files with scp, sftp or rsync';
  }
}

/**
 * Whether the pipeline closes the adapter (tell the user, drop both legs) when a session ends for
 * this reason. Only a client that already went away has nobody left to tell.
 */
export function closesAdapter(r: TerminationReason): boolean {
  switch (r) {
    case 'closed-by-client':
      return false;
    case 'upstream-closed': case 'grant-expired': case 'window-closed': case 'grant-revoked': case 'breakglass-denied': case 'killed-by-admin':
    case 'user-disabled': case 'user-removed': case 'target-removed': case 'target-changed': case 'policy-removed': case 'policy-narrowed':
    case 'idle-timeout': case 'recording-failed': case 'recording-budget': case 'gateway-shutdown': case 'gateway-crashed': case 'protocol-error': case 'upstream-failed':
    case 'credential-failed': case 'max-session-length': case 'adapter-error': case 'input-cap-exceeded': case 'statement-too-large': case 'node-lost':
      return true;
  }
}

/** The reasons access itself ended (the grant or what it stands on), as the access layer reports them. */
export type AccessEnd = Extract<TerminationReason,
  'grant-expired' | 'grant-revoked' | 'breakglass-denied' | 'user-disabled' | 'user-removed' | 'target-removed' | 'target-changed' | 'policy-removed' | 'policy-narrowed' | 'window-closed'>;
