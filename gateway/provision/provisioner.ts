// What Portcullis asks of a target to keep no standing privilege there: create an account for one
// grant and drop it again (ephemeral credentials), replace a static credential (rotation), and list
// the accounts with privilege (discovery). One implementation per target kind, each logging in with
// the target's vaulted credential under the same TLS, host key and upstream-auth rules as a session:
//   postgres/provisioner.ts, mysql/provisioner.ts, ssh/provisioner.ts
// The protocol modules translate these calls into SQL or commands; what is created when, and what
// happens when it fails, is decided once, by the services in this folder (ephemeral accounts,
// reconciler, rotation, discovery). Secrets cross this interface only as Buffers the caller wipes;
// no error message, log line or return value of an implementation ever carries one.
import { randomBytes } from 'node:crypto';
import type { AccessLevel, CredentialKind, TargetRecord } from '../store/records.js';
import type { UpstreamCredential } from '../session/credentials.js';

/** An ephemeral account to create for one grant. */
export interface EphemeralAccountSpec {
  /** Its name on the target; chosen by the caller (ephemeralAccountName), stored in the intent log first. */
  account: string;
  /** The grant's level: database roles to grant, or Unix groups of the SSH user. */
  level: AccessLevel;
  /** The grant's end (epoch ms): PostgreSQL VALID UNTIL, account expiry where the target has one. A backstop; the reconciler drops it. */
  validUntil: number;
  /** Grant id, for the comment/label the account carries on the target (never a secret). */
  grantId: string;
}

/** The login material of an account just created; the caller seals it and wipes the Buffer. */
export interface CreatedAccount {
  kind: CredentialKind;
  /** A password, or an OpenSSH private key (PEM/OpenSSH text) for SSH users. */
  secret: Buffer;
}

/** One privileged account as discovery found it. */
export interface PrivilegedAccount {
  account: string;
  /**
   * What makes it privileged, as short stable words: postgres "superuser", "createrole", "createdb",
   * "bypassrls", "replication", "password-login"; mysql "all-privileges", "grant-option",
   * "global:<PRIVILEGE>", "super"; linux "uid-0", "sudo", "sudo-group:<g>", "authorized-keys", "password".
   */
  privileges: string[];
  /**
   * The account this discovery logged in as, where one name can be several accounts (MySQL
   * 'user'@'host': only the exact CURRENT_USER() row is the vaulted one; a 'user'@'elsewhere' twin is
   * a standing account). Unset elsewhere: the name alone says it.
   */
  self?: boolean;
}

/**
 * A logged-in administrative connection to one target as its vaulted account. Opened per task and
 * closed after it; a task never holds one across a user's session.
 */
export interface AdminSession {
  /**
   * Creates the account with exactly the level's roles or groups and a fresh random secret it
   * generates itself (PostgreSQL: sent as a SCRAM verifier, never in clear). If an account of that
   * name exists already (a crash between creating it and recording so), it is dropped and created
   * again. Rejects with ProvisionError naming what is missing (a role, a group, a right).
   */
  createAccount(spec: EphemeralAccountSpec): Promise<CreatedAccount>;
  /**
   * Ends every connection or process of the account, then removes it (PostgreSQL: its objects are
   * reassigned to `reassignTo`, or dropped when null; SSH: home kept when `keepHome`). Resolves when
   * the account does not exist (idempotent).
   */
  dropAccount(account: string, opts: { reassignTo: string | null; keepHome: boolean }): Promise<void>;
  /**
   * Optional: moves the account's own expiry (PostgreSQL VALID UNTIL, an SSH user's expiry date) to
   * `validUntil` after its grant was extended. Targets without one leave it out.
   */
  extendAccount?(account: string, validUntil: number): Promise<void>;
  /**
   * What the vaulted account lacks to manage ephemeral accounts at these levels, in words an admin
   * acts on ("CREATEROLE", "role pc_write does not exist", "sudo: /usr/sbin/useradd not allowed");
   * empty when nothing is missing.
   */
  checkProvisioner(levels: readonly AccessLevel[]): Promise<string[]>;
  /** Privileged accounts on the target (see PrivilegedAccount). */
  discover(): Promise<PrivilegedAccount[]>;
  /**
   * Rotation of a static credential, logged in as that account: makes `next` (same kind as the
   * vaulted one) log in as well. Passwords: the old one stops working at once. Keys: the new public
   * key is added; the old one is removed by retireOldKey once the new one was verified.
   */
  setOwnSecret(next: Buffer): Promise<void>;
  /** Keys only: removes every authorized key of the account other than `keep` (an OpenSSH public key line). */
  retireOldKey?(keep: string): Promise<void>;
  close(): Promise<void>;
}

/** Opens an AdminSession; wipes `cred` once its login is done, whatever happens. */
export type AdminLogin = (target: TargetRecord, cred: UpstreamCredential) => Promise<AdminSession>;

/** A fresh ephemeral account name: "pcx_" and 12 lowercase base32 characters (valid as a PostgreSQL role, MySQL user and Linux user name). */
export function ephemeralAccountName(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return 'pcx_' + [...randomBytes(12)].map((b) => alphabet[b % 32]!).join('');
}

/** Whether a name has the shape of an ephemeral account (what providers accept to drop: nothing else is ever dropped). */
export const isEphemeralAccountName = (s: string): boolean => /^pcx_[a-z2-7]{12}$/.test(s);

/** A target refused or could not do what was asked; `message` is for the admin and never carries a secret. */
export class ProvisionError extends Error {
  constructor(readonly kind: 'missing-right' | 'no-such-level-grant' | 'unreachable' | 'refused' | 'protocol', message: string) {
    super(message);
    this.name = 'ProvisionError';
  }
}
