// The PostgreSQL provisioner (gateway/provision/provisioner.ts AdminSession): logged in as a
// target's vaulted account with a session's own upstream login (TLS, SCRAM signature and weak-auth
// rules of upstream.ts), it creates and drops per-grant roles, checks what the account lacks,
// lists privileged roles, and changes its own password. It translates those calls into SQL and the
// server's refusals into ProvisionError; when to create or drop, and what a failure means, is the
// services' business (gateway/provision/).
//
// What PostgreSQL 15 requires of the provisioner role (checked on a real server, see
// test/e2e/pg-provisioner-*.test.ts): CREATEROLE, and INHERIT (the default). A CREATEROLE role may
// create and drop non-superuser roles and grant membership in them, but it may end another role's
// backends, REASSIGN OWNED or DROP OWNED only with the privileges of that role: so each account is
// created with the provisioner as a member (CREATE ROLE ... ROLE CURRENT_USER), and the drop grants
// that membership first when it is missing (an account left by a crash). pg_signal_backend is not
// needed. REASSIGN OWNED also needs the privileges of the role objects go to: the provisioner must
// be a member of the target's reassign-to role. A level role must not be a superuser (PostgreSQL
// refuses a CREATEROLE role that grants one anyway; checkProvisioner says so beforehand).
//
// Note that a PostgreSQL 15 CREATEROLE role may grant itself any role but a superuser one,
// pg_execute_server_program included: the provisioner's password is as sensitive as a superuser's
// (PostgreSQL 16 narrows CREATEROLE to the roles it created). For the same reason a level role with
// CREATEROLE, or a member of a superuser, CREATEROLE or server-file role, is reported by the check.
//
// Limitation: objects an account owns are reassigned or dropped in the provisioner's database only;
// if it owns objects in another database, DROP ROLE fails and dropAccount reports which database.
import type { TargetRecord } from '../session/adapter.js';
import { UpstreamFailure } from '../session/upstream-failure.js';
import {
  type AdminLogin, type AdminSession, type CreatedAccount, type EphemeralAccountSpec, isEphemeralAccountName, type PrivilegedAccount,
  ProvisionError,
} from '../provision/provisioner.js';
import { AdminConnectionLost, type AdminResult, DEFAULT_ADMIN_LIMITS, type AdminQueryLimits, AdminQueryRefused, PgAdminConnection } from './admin-query.js';
import { randomPassword, scramVerifierOf } from './scram-secret.js';
import { quoteIdent, quoteLiteral, SqlTextError } from './sql-text.js';
import { connectPgUpstream } from './upstream.js';

type AccessLevel = EphemeralAccountSpec['level'];

export interface PgProvisionerOptions {
  /** CONNECTION LIMIT of each ephemeral role. */
  connectionLimit: number;
  limits: AdminQueryLimits;
  /** How long dropAccount waits, in all, for the account's backends to end before it gives up. */
  terminateWaitMs: number;
}

export const DEFAULT_PG_PROVISIONER: PgProvisionerOptions = { connectionLimit: 10, limits: DEFAULT_ADMIN_LIMITS, terminateWaitMs: 10_000 };

/** 9999-12-31T23:59:59.999Z */
const LAST_VALID_UNTIL = 253_402_300_799_999;

/** What the provisioner's connection sets at login: statements that wait on a lock fail rather than hang. */
const SESSION_PARAMS = { application_name: 'portcullis-provisioner', client_encoding: 'UTF8', lock_timeout: '10s', statement_timeout: '30s' };

/** An AdminLogin for PostgreSQL targets. */
export function pgAdminLogin(opts: Partial<PgProvisionerOptions> = {}): AdminLogin {
  const o = { ...DEFAULT_PG_PROVISIONER, ...opts };
  return async (target, cred) => {
    let conn: PgAdminConnection;
    try {
      const up = await connectPgUpstream(target, cred, { database: target.database ?? target.account, ...SESSION_PARAMS });
      conn = new PgAdminConnection(up.socket, up.rest, target.name, o.limits);
    } catch (e) {
      throw loginError(target, e);
    } finally {
      cred.wipe();
    }
    return new PgAdminSession(conn, target, o);
  };
}

/** The default, for the protocol registry. */
export const postgresAdminLogin: AdminLogin = pgAdminLogin();

function loginError(target: TargetRecord, e: unknown): ProvisionError {
  if (!(e instanceof UpstreamFailure)) return new ProvisionError('protocol', `login to ${target.name} failed (protocol)`);
  if (e.kind === 'unreachable') return new ProvisionError('unreachable', e.message);
  if (e.kind === 'auth-failed') return new ProvisionError('refused', `${target.name} refused the provisioner's vaulted credential`);
  if (e.kind === 'protocol') return new ProvisionError('protocol', e.message);
  // TLS, weak-auth and server-auth refusals say why and what to do, and carry no secret.
  return new ProvisionError('refused', e.message);
}

export class PgAdminSession implements AdminSession {
  constructor(
    private readonly conn: PgAdminConnection,
    private readonly target: Pick<TargetRecord, 'name' | 'ephemeralReassignTo'>,
    private readonly opts: PgProvisionerOptions,
  ) {}

  async createAccount(spec: EphemeralAccountSpec): Promise<CreatedAccount> {
    const name = ephemeralIdent(spec.account);
    const roles = levelRoles(spec.level);
    // Past year 9999 toISOString writes a six-digit year PostgreSQL does not read.
    if (!Number.isFinite(spec.validUntil) || spec.validUntil < 0 || spec.validUntil > LAST_VALID_UNTIL) throw new ProvisionError('refused', 'the account needs an end between 1970 and 9999 (validUntil)');
    // A crash between creating the role and recording so leaves it behind: start again from nothing.
    if (await this.roleOf(spec.account)) await this.dropAccount(spec.account, { reassignTo: this.target.ephemeralReassignTo, keepHome: false });
    const secret = randomPassword();
    try {
      const verifier = await scramVerifierOf(secret);
      const limit = Math.max(1, Math.trunc(this.opts.connectionLimit));
      // Attributes spelled out: whatever the server's defaults, the account gets the level's roles
      // (INHERIT, so their privileges apply) and nothing else. ROLE CURRENT_USER makes the
      // provisioner a member, which PostgreSQL 15 requires to end its backends and drop what it owns.
      // One Query: the server runs both statements as one transaction (no role without its comment).
      const sql = `CREATE ROLE ${name} LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`
        + ` CONNECTION LIMIT ${limit} VALID UNTIL ${quoteLiteral(new Date(spec.validUntil).toISOString())} PASSWORD ${quoteLiteral(verifier)}`
        + (roles.length ? ` IN ROLE ${roles.map(quoteIdent).join(', ')}` : '') + ' ROLE CURRENT_USER;'
        + ` COMMENT ON ROLE ${name} IS ${quoteLiteral(`portcullis ephemeral account for grant ${spec.grantId}`)}`;
      await this.run(sql, `create ${spec.account}`, verifier);
      return { kind: 'password', secret };
    } catch (e) {
      secret.fill(0);
      throw e;
    }
  }

  async dropAccount(account: string, opts: { reassignTo: string | null; keepHome: boolean }): Promise<void> {
    const name = ephemeralIdent(account);
    const reassignTo = opts.reassignTo === null ? null : ident(opts.reassignTo, 'the reassign-to role');
    const role = await this.roleOf(account);
    if (!role) return;
    const what = `drop ${account}`;
    // Membership gives the provisioner the rights PostgreSQL 15 asks for below; an account created
    // by this code has it already, one half-created before a crash may not.
    if (!role.member) await this.run(`GRANT ${name} TO CURRENT_USER`, what);
    // No new logins first, so the backends ended next stay ended.
    await this.run(`ALTER ROLE ${name} NOLOGIN`, what);
    await this.endBackends(role.oid, account);
    const owned = reassignTo ? `REASSIGN OWNED BY ${name} TO ${reassignTo}; DROP OWNED BY ${name}` : `DROP OWNED BY ${name}`;
    // DROP OWNED after REASSIGN OWNED removes the privileges granted to the role, which would block DROP ROLE too.
    await this.run(owned, what);
    try {
      await this.conn.query(`DROP ROLE IF EXISTS ${name}`);
    } catch (e) {
      if (e instanceof AdminQueryRefused && e.sqlstate === '2BP01') {
        throw new ProvisionError('refused', `cannot drop ${account} on ${this.target.name}: it still owns objects or holds privileges outside `
          + `the provisioner's database (${e.detail ?? e.message}); reassign or drop them there, then the reconciler drops it`);
      }
      throw this.translate(e, what);
    }
  }

  /**
   * Moves the account's VALID UNTIL to a grant's new end, so an extended grant keeps logging in past
   * its original end (VALID UNTIL is only a backstop; the reconciler is what drops the account).
   */
  async extendAccount(account: string, validUntil: number): Promise<void> {
    const name = ephemeralIdent(account);
    if (!Number.isFinite(validUntil) || validUntil < 0 || validUntil > LAST_VALID_UNTIL) throw new ProvisionError('refused', 'the account needs an end between 1970 and 9999 (validUntil)');
    // Gone already (dropped, or never created): nothing to extend, and the service retries a failure every pass.
    if (!(await this.roleOf(account))) return;
    await this.run(`ALTER ROLE ${name} VALID UNTIL ${quoteLiteral(new Date(validUntil).toISOString())}`, `extend ${account}`);
  }

  async checkProvisioner(levels: readonly AccessLevel[]): Promise<string[]> {
    const problems: string[] = [];
    const me = (await this.run('SELECT current_user, rolsuper, rolcreaterole, rolinherit FROM pg_catalog.pg_roles WHERE rolname = current_user', 'check')).rows[0];
    const [self, superuser, createrole, inherit] = me ?? [];
    const who = quoteIdent(self ?? '?');
    if (superuser !== 't') {
      if (createrole !== 't') problems.push(`CREATEROLE: the provisioner ${who} cannot create or drop roles (as a superuser: ALTER ROLE ${who} CREATEROLE)`);
      if (inherit !== 't') problems.push(`INHERIT: the provisioner ${who} cannot end the sessions of the accounts it creates (ALTER ROLE ${who} INHERIT)`);
    }
    const wanted = new Map<string, string>();
    for (const l of levels) for (const r of l.grants) if (!wanted.has(r)) wanted.set(r, l.name);
    for (const [role, level] of wanted) {
      let lit: string;
      try {
        quoteIdent(role);
        lit = quoteLiteral(role);
      } catch (e) {
        problems.push(`level ${level}: ${JSON.stringify(role)} is not a valid role name (${e instanceof SqlTextError ? e.message : 'refused'})`);
        continue;
      }
      const row = (await this.run(`SELECT rolsuper, ${AS_GOOD_AS_SUPERUSER('r')}, rolcreaterole FROM pg_catalog.pg_roles r WHERE rolname = ${lit}`, 'check')).rows[0];
      if (!row) problems.push(`role ${role} does not exist (level ${level})`);
      else if (row[0] === 't') problems.push(`level role ${role} is a superuser role (level ${level}): a level must not hand out superuser`);
      else if (row[2] === 't') problems.push(`level role ${role} has CREATEROLE (level ${level}): in PostgreSQL 15 that grants any role but superuser, so a level must not hand it out`);
      else if (row[1]) problems.push(`level role ${role} is a member of ${row[1]} (level ${level}): a level must not hand out superuser or what is as good`);
    }
    const to = this.target.ephemeralReassignTo;
    if (to !== null) {
      const row = (await this.run(`SELECT pg_catalog.pg_has_role(current_user, oid, 'USAGE') FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(to)}`, 'check')).rows[0];
      if (!row) problems.push(`role ${to} does not exist (objects of dropped accounts are reassigned to it)`);
      else if (row[0] !== 't') problems.push(`the provisioner ${who} must be a member of ${to} to reassign objects of dropped accounts to it (GRANT ${quoteIdent(to)} TO ${who})`);
    }
    return problems;
  }

  async discover(): Promise<PrivilegedAccount[]> {
    const su = (await this.run('SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user', 'discover')).rows[0]?.[0] === 't';
    // Whether a password is set is in pg_authid, readable by superusers only; otherwise every role
    // that can log in is listed as "login" (its password state unknown).
    const login = su ? "rolcanlogin AND a.rolpassword IS NOT NULL AS pwlogin, false AS anylogin" : 'false AS pwlogin, rolcanlogin AS anylogin';
    const from = su ? 'pg_catalog.pg_authid a' : 'pg_catalog.pg_roles a';
    const res = await this.run(`SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication, ${login}, ${AS_GOOD_AS_SUPERUSER('a')}`
      + ` FROM ${from} WHERE rolname !~ '^pg_' ORDER BY rolname`, 'discover');
    const words = ['superuser', 'createrole', 'createdb', 'bypassrls', 'replication', 'password-login', 'login'];
    const out: PrivilegedAccount[] = [];
    for (const [account, ...flags] of res.rows) {
      const privileges = words.filter((_, i) => flags[i] === 't');
      // A role that may SET ROLE to a superuser (or to a role that reads and writes the server's files) is one in all but name.
      for (const r of flags[words.length]?.split(',') ?? []) privileges.push(`member-of:${r}`);
      if (account && privileges.length) out.push({ account, privileges });
    }
    return out;
  }

  async setOwnSecret(next: Buffer): Promise<void> {
    const verifier = await scramVerifierOf(next);
    await this.run(`ALTER ROLE CURRENT_USER PASSWORD ${quoteLiteral(verifier)}`, 'set its own password', verifier);
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  /** The role's oid and whether the provisioner has its privileges, or null when it does not exist. */
  private async roleOf(account: string): Promise<{ oid: string; member: boolean } | null> {
    const row = (await this.run(`SELECT oid, pg_catalog.pg_has_role(current_user, oid, 'USAGE') FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(account)}`, `look up ${account}`)).rows[0];
    return row?.[0] ? { oid: row[0], member: row[1] === 't' } : null;
  }

  /**
   * Ends every backend of the role, waiting server-side for each (pg_terminate_backend's timeout),
   * until none is left or terminateWaitMs is spent.
   */
  private async endBackends(oid: string, account: string): Promise<void> {
    const round = 2_000;
    const rounds = Math.max(1, Math.ceil(this.opts.terminateWaitMs / round));
    const backends = `FROM pg_catalog.pg_stat_activity WHERE usesysid = ${quoteLiteral(oid)}::pg_catalog.oid AND pid <> pg_catalog.pg_backend_pid()`;
    for (let i = 0; i < rounds; i++) {
      await this.run(`SELECT pg_catalog.pg_terminate_backend(pid, ${round}) ${backends}`, `end the sessions of ${account}`);
      const left = (await this.run(`SELECT count(*) ${backends}`, `end the sessions of ${account}`)).rows[0]?.[0];
      if (left === '0') return;
    }
    throw new ProvisionError('refused', `sessions of ${account} on ${this.target.name} did not end within ${this.opts.terminateWaitMs} ms`);
  }

  /** Runs SQL; a refusal becomes a ProvisionError with the server's words (`redact` never appears in it). */
  private async run(sql: string, what: string, redact?: string): Promise<AdminResult> {
    try {
      return await this.conn.query(sql);
    } catch (e) {
      throw this.translate(e, what, redact);
    }
  }

  private translate(e: unknown, what: string, redact?: string): ProvisionError {
    const on = `${what} on ${this.target.name}`;
    if (e instanceof ProvisionError) return e;
    if (e instanceof AdminConnectionLost) return new ProvisionError(e.why === 'protocol' ? 'protocol' : 'unreachable', `${on}: ${e.message}`);
    if (!(e instanceof AdminQueryRefused)) return new ProvisionError('protocol', `${on}: failed`);
    let msg = e.message;
    // The server quotes statement text in some errors; a verifier is not the password, but still not for display.
    if (redact) msg = msg.replaceAll(redact, '[verifier]');
    switch (e.sqlstate) {
      case '42501': return new ProvisionError('missing-right', `${on}: the provisioner lacks a right: ${msg}`);
      case '42704': return new ProvisionError('no-such-level-grant', `${on}: ${msg}`);
      default: return new ProvisionError('refused', `${on}: ${msg}`);
    }
  }
}

/**
 * SQL for the roles, comma-separated (NULL when none), that the role aliased `r` is a member of and
 * that hand out superuser or its equivalent: superuser roles, CREATEROLE roles (in PostgreSQL 15 they
 * may grant any role but superuser, pg_execute_server_program included), and the predefined roles
 * that reach the server's files and programs (PostgreSQL's documentation: they can be used to gain
 * superuser-level access). Membership counts whether or not it is inherited: a member may SET ROLE. A superuser is
 * a member of every role, so it is not asked (it is "superuser" already).
 */
const AS_GOOD_AS_SUPERUSER = (r: string): string => `CASE WHEN ${r}.rolsuper THEN NULL ELSE (SELECT pg_catalog.string_agg(s.rolname, ',' ORDER BY s.rolname)`
  + ` FROM pg_catalog.pg_roles s WHERE s.oid <> ${r}.oid AND (s.rolsuper OR s.rolcreaterole OR s.rolname IN ('pg_execute_server_program', 'pg_write_server_files', 'pg_read_server_files'))`
  + ` AND pg_catalog.pg_has_role(${r}.oid, s.oid, 'MEMBER')) END`;

/** An ephemeral account name, quoted; anything else is refused (nothing else is ever created or dropped). */
function ephemeralIdent(account: string): string {
  if (!isEphemeralAccountName(account)) throw new ProvisionError('refused', `${JSON.stringify(account)} is not an ephemeral account name`);
  return quoteIdent(account);
}

function ident(name: string, what: string): string {
  try {
    return quoteIdent(name);
  } catch (e) {
    throw new ProvisionError('refused', `${what} ${JSON.stringify(name)} cannot be used: ${e instanceof SqlTextError ? e.message : 'invalid'}`);
  }
}

function levelRoles(level: AccessLevel): string[] {
  for (const r of level.grants) ident(r, `level ${level.name} role`);
  return [...new Set(level.grants)];
}
