// The one error shape adapters use when the upstream leg cannot be set up: the target refused
// (its own code, when it gave one) or could not be reached. The message is safe to show the client;
// the kind goes to the audit trail. Translation into protocol words is the adapter's `refuse`.

export class UpstreamFailure extends Error {
  /**
   * `kind` is what the audit trail records: 'refused' (with the target's own code), 'unreachable',
   * 'auth-failed', 'host-key-mismatch', 'tls', 'protocol', 'shell-refused', 'credential'; for the
   * upstream login's own checks (upstream-auth.ts): 'weak-auth' (a weak method the target did not
   * opt in to), 'server-auth-failed' (the server did not prove it knows the password),
   * 'auth-unsupported' (no method the gateway speaks), 'rsa-key-mismatch' (not the pinned RSA key);
   * 'credential-unbound' (the vaulted credential does not open for the target as it now stands).
   */
  constructor(readonly kind: string, message: string, readonly targetCode?: string) {
    super(message);
  }
}
