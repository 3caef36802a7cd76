// What a database target's upstream login may do with the vaulted password, from the target record:
// the weak methods (ones that hand the password, or a password equivalent, to whoever answers at
// the target's address, or that let an unauthenticated server in), the words that refuse each, and
// the policy the PostgreSQL and MySQL upstream logins consult before they send anything. Decides
// only from the record; the protocol code applies it, the pipeline audits each use
// (upstream.weak_auth). Server identity by TLS is the target's TLS settings, not this module.
import type { TargetRecord } from '../store/records.js';
import { UpstreamFailure } from './upstream-failure.js';

export type WeakUpstreamAuth =
  /** PostgreSQL AuthenticationCleartextPassword: the password itself. */
  | 'pg-cleartext'
  /** PostgreSQL AuthenticationMD5Password: md5(md5(password + user) + salt), as good as the password to the asker. */
  | 'pg-md5'
  /** PostgreSQL AuthenticationOk with no exchange and no verified TLS: nothing shows the server is the target. */
  | 'pg-no-authentication'
  /**
   * PostgreSQL SCRAM with fewer than 4096 iterations and no verified TLS: whoever answers picks the
   * salt and count, and i=1 turns the proof into a password hash testable at one HMAC per guess.
   */
  | 'pg-scram-few-iterations'
  /** MySQL password in clear (mysql_clear_password, sha256/caching_sha2 full auth) without verified TLS. */
  | 'mysql-cleartext'
  /** MySQL password RSA-encrypted with a key the server sent that no pin vouches for. */
  | 'mysql-rsa-unpinned';

export interface UpstreamAuthPolicy {
  readonly target: string;
  /** The target opted in (`--allow-weak-upstream-auth`). */
  readonly allowWeak: boolean;
  /** The leg runs over TLS that verified the server (a CA; a pinned certificate counts too). */
  readonly tlsVerified: boolean;
  /** MySQL: the pinned server RSA key, "sha256:<hex>", or null. */
  readonly rsaKeyFingerprint: string | null;
  /**
   * Called before a weak method sends anything (so even a login that then fails is on record).
   * Throws an UpstreamFailure ('weak-auth') when the target did not opt in.
   */
  useWeak(method: WeakUpstreamAuth): void;
}

const OPT_IN = 'or, accepting that risk, add the target with --allow-weak-upstream-auth';

const WHY: Record<WeakUpstreamAuth, string> = {
  'pg-cleartext': 'the target asked for cleartext password authentication, which would reveal the vaulted password; '
    + `configure scram-sha-256 for this account in the target's pg_hba.conf, ${OPT_IN}`,
  'pg-md5': 'the target asked for MD5 password authentication, whose answer lets the asker log in as this account; '
    + `store the account's password as SCRAM-SHA-256 and use scram-sha-256 in pg_hba.conf, ${OPT_IN}`,
  'pg-no-authentication': 'the target let the gateway in without any authentication and without verified TLS, so nothing shows it '
    + `is the genuine target; require scram-sha-256 for this account on the target, or verify its certificate (--tls verify-full), ${OPT_IN}`,
  'pg-scram-few-iterations': 'the target asked for SCRAM-SHA-256 with fewer than 4096 iterations without verified TLS, so an impostor '
    + 'could choose a count that makes the gateway\'s answer cheap to guess the vaulted password from; use the default iteration count '
    + `(scram_iterations 4096 or more) on the target, or verify its certificate (--tls verify-full), ${OPT_IN}`,
  'mysql-cleartext': 'the target asked for the password in clear without verified TLS, which would reveal the vaulted password; '
    + `use --tls verify-full, ${OPT_IN}`,
  'mysql-rsa-unpinned': 'the target asked for full password authentication with an RSA key the gateway cannot check, so an '
    + `impostor's key would get the vaulted password; pin the server's key (--mysql-rsa-key FILE), use --tls verify-full, ${OPT_IN}`,
};

/** The refusal a weak method gets on a target that did not opt in: safe to show the user and the admin. */
export function weakAuthRefusal(target: string, method: WeakUpstreamAuth): UpstreamFailure {
  return new UpstreamFailure('weak-auth', `refused to log in to ${target}: ${WHY[method]}`);
}

/**
 * Whether the target's TLS settings verify the server. Today that is verify-full (a CA); a pinned
 * certificate fingerprint, when targets have one, belongs here too.
 */
export function tlsVerifiesServer(target: Pick<TargetRecord, 'tlsMode' | 'tlsFingerprint'>): boolean {
  // verify-full checks the chain and the name; a pinned leaf (any mode but disable) is the exact
  // certificate. verify-ca alone is not enough: any certificate from the same CA would pass.
  return target.tlsMode === 'verify-full' || (target.tlsMode !== 'disable' && target.tlsFingerprint !== null);
}

/** The policy for one login; `onWeak` hears every weak method actually used (the pipeline audits it). */
export function upstreamAuthPolicy(
  target: Pick<TargetRecord, 'name' | 'tlsMode' | 'tlsFingerprint' | 'allowWeakUpstreamAuth' | 'rsaKeyFingerprint'>,
  onWeak?: (method: WeakUpstreamAuth) => void,
): UpstreamAuthPolicy {
  return {
    target: target.name, allowWeak: target.allowWeakUpstreamAuth, tlsVerified: tlsVerifiesServer(target), rsaKeyFingerprint: target.rsaKeyFingerprint,
    useWeak(method) {
      if (!target.allowWeakUpstreamAuth) throw weakAuthRefusal(target.name, method);
      onWeak?.(method);
    },
  };
}

// Refusals whose message says what to do; others are summarized by kind (their messages may quote the server).
const SAYS_WHY = new Set(['weak-auth', 'server-auth-failed', 'auth-unsupported', 'rsa-key-mismatch']);

/** `target test`'s words for a failed probe login (never a secret: messages here carry none). */
export function probeFailureDetail(e: unknown): string {
  if (!(e instanceof UpstreamFailure)) return 'login failed (protocol)';
  if (e.kind === 'auth-failed') return 'upstream refused the vaulted credential';
  if (SAYS_WHY.has(e.kind)) return e.message;
  return `login failed (${e.kind})`;
}
