// Why a session ended. A closed union: every switch over it is exhaustive, and the strings are the
// contract stored in session records and `session.ended` audit events.

export type TerminationReason =
  | 'closed-by-client'
  | 'upstream-closed'
  | 'grant-expired'
  | 'grant-revoked'
  | 'breakglass-denied'
  | 'killed-by-admin'
  | 'idle-timeout'
  | 'recording-failed'
  | 'gateway-shutdown'
  | 'protocol-error'
  | 'upstream-failed';

export function describeTermination(r: TerminationReason, target: string): string {
  switch (r) {
    case 'closed-by-client': return 'session closed by the client';
    case 'upstream-closed': return `${target} closed the connection`;
    case 'grant-expired': return `your access to ${target} has ended (grant expired); request more with: portcullis request ${target} --for 30m --reason "..."`;
    case 'grant-revoked': return `your access to ${target} was revoked`;
    case 'breakglass-denied': return `break-glass access to ${target} was denied on review`;
    case 'killed-by-admin': return 'session ended by a Portcullis admin';
    case 'idle-timeout': return 'session closed after being idle too long';
    case 'recording-failed': return 'session ended because it could not be recorded';
    case 'gateway-shutdown': return 'the Portcullis gateway is shutting down';
    case 'protocol-error': return 'session ended after a protocol error';
    case 'upstream-failed': return `could not connect to ${target}`;
  }
}
