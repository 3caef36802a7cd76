// The MySQL/MariaDB side of gateway/provision/provisioner.ts: ephemeral users for grants, rotation of
// the static account's own password, the provisioner's rights check and discovery of privileged
// users. Logs in with connectMyUpstream (a session's TLS, RSA pin and weak-auth rules), then runs
// statements it builds itself over admin-query.ts. What is created when is decided by the services
// in gateway/provision; this module only translates.
//
// Choices (see the report of issue 15):
// - Passwords never travel in clear where the server can take a hash: MariaDB writes CREATE USER and
//   SET PASSWORD statements verbatim to its general log, so it gets `IDENTIFIED BY PASSWORD '*<hex of
//   SHA1(SHA1(pw))>'` (mysql_native_password, which the upstream leg answers by challenge-response).
//   MySQL before 8.4 gets the same hash via `IDENTIFIED WITH mysql_native_password AS`; MySQL 8.4+
//   (native auth off by default) gets `IDENTIFIED BY`, which MySQL rewrites in its logs.
// - MariaDB has one default role per user. A level of several roles gets a combining role
//   `pcx_lvl_<hash of the role set>`, created once and reused by every account of that role set; it
//   is checked to carry exactly those roles before each use (nobody slips a privilege into it).
//   Setting another user's default role needs UPDATE on the mysql schema (as good as root), so the
//   new account sets its own default role: one login as it right after it is created.
// - Host '%': the account's password is random and known only to the gateway, it lives only as long
//   as the grant, and the gateway's address as the server sees it varies with NAT and nodes.
import { randomBytes } from 'node:crypto';
import type { TargetRecord } from '../session/adapter.js';
import type { UpstreamCredential } from '../session/credentials.js';
import { UpstreamFailure } from '../session/upstream-failure.js';
import {
  type AdminLogin, type AdminSession, type CreatedAccount, type EphemeralAccountSpec, type PrivilegedAccount,
  ProvisionError, isEphemeralAccountName,
} from '../provision/provisioner.js';
import { AdminQueryConnection, type QueryResult, ServerError } from './admin-query.js';
import { type Flavor, account, atLeast, flavorOf, globalGrant, ident, literal, nativeHash, roleSetHash } from './admin-sql.js';
import { connectMyUpstream } from './upstream.js';
import { CAP } from './wire/capabilities.js';

const CAPS = CAP.LONG_PASSWORD | CAP.LONG_FLAG | CAP.PROTOCOL_41 | CAP.TRANSACTIONS | CAP.SECURE_CONNECTION
  | CAP.MULTI_RESULTS | CAP.PLUGIN_AUTH | CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA;
const UTF8MB4_GENERAL_CI = 45;
const LOGIN_MS = 15_000;
const QUERY_MS = 15_000;
/** Ephemeral accounts: connections at once (a grant's sessions, each client's reconnects). */
export const EPHEMERAL_MAX_CONNECTIONS = 20;
const HOST = '%';
type AccessLevel = Parameters<AdminSession['checkProvisioner']>[0][number];
const COMBINING_PREFIX = 'pcx_lvl_';

// Server error codes the provisioner reads.
const ER_CANNOT_USER = 1396; // CREATE USER of an existing one, ALTER USER of a missing one
const ER_NO_SUCH_THREAD = 1094;
const ER_KILL_DENIED = 1095;
/**
 * With a password validation plugin and strict_password_validation, MariaDB refuses a password given
 * as a hash (1290, "running with the --strict-password-validation option"); 1819 where a plugin
 * judges the statement. Only the server's words tell 1290 apart from --read-only; they are not echoed.
 */
const isHashRefusal = (e: ServerError): boolean => e.code === 1819 || (e.code === 1290 && /strict.password.validation/i.test(e.message));
const HASH_REFUSED = 'the server\'s password validation refuses passwords given as a hash (strict_password_validation=ON with a validation plugin); Portcullis never sends them in clear: set strict_password_validation=OFF';
const DENIED = new Set([1044, 1045, 1142, 1143, 1227, 1370, 1698]);
/** MariaDB ER_INVALID_ROLE, MySQL ER_UNKNOWN_AUTHID: a level names a role the server does not have. */
const NO_SUCH_ROLE = new Set([1959, 3523]);

export interface MyAdminOptions {
  maxUserConnections?: number;
}

/** The registry's AdminLogin for MySQL/MariaDB targets. */
export const mysqlAdminLogin: AdminLogin = (target, cred) => openMyAdmin(target, cred);

export async function openMyAdmin(target: TargetRecord, cred: UpstreamCredential, opts: MyAdminOptions = {}): Promise<AdminSession> {
  const conn = await login(target, cred);
  try {
    const r = rowsOf(await conn.query('SELECT @@SESSION.sql_mode, CURRENT_USER()'));
    const mode = r[0]?.[0] ?? '';
    return new MyAdminSession(target, conn.conn, flavorOf(conn.serverVersion), /\bNO_BACKSLASH_ESCAPES\b/i.test(mode), r[0]?.[1] ?? '', opts);
  } catch (e) {
    await conn.conn.close();
    throw asProvisionError(e, target);
  }
}

async function login(target: TargetRecord, cred: UpstreamCredential): Promise<{ conn: AdminQueryConnection; serverVersion: string; query: AdminQueryConnection['query'] }> {
  try {
    // connectMyUpstream wipes the credential whatever happens.
    const up = await connectMyUpstream(target, cred, { caps: CAPS, extCaps: 0, charset: UTF8MB4_GENERAL_CI, database: null }, { signal: AbortSignal.timeout(LOGIN_MS) });
    const conn = new AdminQueryConnection(up.socket, up.rest, target.name, QUERY_MS);
    return { conn, serverVersion: up.greeting.serverVersion, query: (sql) => conn.query(sql) };
  } catch (e) {
    cred.wipe();
    if (e instanceof UpstreamFailure) {
      // Its message names the target and the fix (TLS, the vaulted credential), never the secret.
      throw new ProvisionError(e.kind === 'unreachable' ? 'unreachable' : 'refused', e.message);
    }
    throw new ProvisionError('protocol', `unexpected failure logging in to ${target.name}`);
  }
}

function rowsOf(r: QueryResult): (string | null)[][] {
  return r.kind === 'rows' ? r.rows : [];
}

/** A server refusal as the admin reads it; `secret` statements never echo the server's words (a syntax error quotes the statement). */
function asProvisionError(e: unknown, target: TargetRecord, secret = false): ProvisionError {
  if (e instanceof ProvisionError) return e;
  if (e instanceof ServerError) {
    if (isHashRefusal(e)) return new ProvisionError('refused', `${target.name}: ${HASH_REFUSED}`);
    const words = secret ? `error ${e.code}` : `${e.message} (${e.code})`;
    const kind = DENIED.has(e.code) ? 'missing-right' : NO_SUCH_ROLE.has(e.code) ? 'no-such-level-grant' : 'refused';
    return new ProvisionError(kind, `${target.name}: ${words}`);
  }
  return new ProvisionError('protocol', `${target.name}: unexpected failure`);
}

class MyAdminSession implements AdminSession {
  constructor(
    private readonly target: TargetRecord,
    private readonly conn: AdminQueryConnection,
    private readonly flavor: Flavor,
    private readonly noBackslashEscapes: boolean,
    /** The provisioner as the server knows it ("prov@%"), for the words of checkProvisioner. */
    private readonly self: string,
    private readonly opts: MyAdminOptions,
  ) {}

  private async run(sql: string, secret = false): Promise<QueryResult> {
    try {
      return await this.conn.query(sql);
    } catch (e) {
      throw asProvisionError(e, this.target, secret);
    }
  }

  /** Runs a statement, resolving to the server's error code instead of throwing on a refusal. */
  private async attempt(sql: string, secret = false): Promise<number> {
    try {
      await this.conn.query(sql);
      return 0;
    } catch (e) {
      if (e instanceof ServerError) return e.code;
      throw asProvisionError(e, this.target, secret);
    }
  }

  private lit(s: string): string {
    return literal(s, this.noBackslashEscapes);
  }

  async createAccount(spec: EphemeralAccountSpec): Promise<CreatedAccount> {
    if (!isEphemeralAccountName(spec.account)) throw new ProvisionError('refused', `not an ephemeral account name: ${JSON.stringify(spec.account)}`);
    const roles = [...new Set(spec.level.grants)];
    for (const r of roles) checkName(r);
    const password = Buffer.from(randomBytes(32).toString('base64url'), 'ascii');
    try {
      const create = this.createUserSql(spec, password);
      const tryCreate = async (): Promise<ServerError | null> => {
        try {
          await this.conn.query(create);
          return null;
        } catch (e) {
          if (e instanceof ServerError) return e;
          throw asProvisionError(e, this.target, true);
        }
      };
      let refused = await tryCreate();
      if (refused?.code === ER_CANNOT_USER) {
        // Left by a crash between creating it and recording so: start again from nothing.
        await this.dropAccount(spec.account);
        refused = await tryCreate();
      }
      if (refused) {
        if (isHashRefusal(refused)) throw new ProvisionError('refused', `${this.target.name}: ${HASH_REFUSED}`);
        if (DENIED.has(refused.code)) throw new ProvisionError('missing-right', `${this.target.name}: the provisioner may not create users (CREATE USER) (error ${refused.code})`);
        throw new ProvisionError('refused', `${this.target.name}: creating ${spec.account} failed (error ${refused.code})`);
      }
      try {
        await this.grantLevel(spec.account, roles, password);
      } catch (e) {
        await this.dropAccount(spec.account).catch(() => undefined);
        throw e;
      }
      return { kind: 'password', secret: password };
    } catch (e) {
      password.fill(0);
      throw e;
    }
  }

  private createUserSql(spec: EphemeralAccountSpec, password: Buffer): string {
    const who = account(spec.account, HOST);
    const limit = `WITH MAX_USER_CONNECTIONS ${this.opts.maxUserConnections ?? EPHEMERAL_MAX_CONNECTIONS}`;
    if (this.flavor.mariadb) return `CREATE USER ${who} IDENTIFIED BY PASSWORD ${this.lit(nativeHash(password))} ${limit}`;
    // MySQL has a comment; MariaDB's mark is the name prefix alone.
    // COMMENT came with MySQL 8.0.21.
    const comment = atLeast(this.flavor, 8, 0, 21) ? `COMMENT ${this.lit(`portcullis ephemeral account of grant ${spec.grantId}`)}` : '';
    if (!atLeast(this.flavor, 8, 4)) return `CREATE USER ${who} IDENTIFIED WITH mysql_native_password AS ${this.lit(nativeHash(password))} ${limit} ${comment}`;
    return `CREATE USER ${who} IDENTIFIED BY ${this.lit(password.toString('ascii'))} ${limit} ${comment}`;
  }

  private async grantLevel(user: string, roles: string[], password: Buffer): Promise<void> {
    if (roles.length === 0) return;
    const who = account(user, HOST);
    if (!this.flavor.mariadb) {
      await this.run(`GRANT ${roles.map(ident).join(', ')} TO ${who}`);
      await this.run(`SET DEFAULT ROLE ALL TO ${who}`);
      return;
    }
    const role = roles.length === 1 ? roles[0]! : await this.combiningRole(roles);
    await this.run(`GRANT ${ident(role)} TO ${who}`);
    await this.setOwnDefaultRole(user, role, password);
  }

  /** MariaDB: the role standing for a level of several roles, created on first use and verified on each. */
  private async combiningRole(roles: string[]): Promise<string> {
    const name = COMBINING_PREFIX + roleSetHash(roles);
    await this.run(`CREATE ROLE IF NOT EXISTS ${ident(name)}`);
    // MariaDB grants one role per statement.
    for (const r of roles) await this.run(`GRANT ${ident(r)} TO ${ident(name)}`);
    // Only what Portcullis gave it: USAGE and the level's roles. A role created or extended behind
    // the gateway's back would hand its extra privileges to every account of the level.
    await this.run(`SET ROLE ${ident(name)}`);
    let lines: string[];
    try {
      lines = rowsOf(await this.run('SHOW GRANTS FOR CURRENT_ROLE')).map((r) => r[0] ?? '');
    } finally {
      await this.attempt('SET ROLE NONE');
    }
    const to = ` TO ${ident(name)}`;
    const allowed = new Set([`GRANT USAGE ON *.*${to}`, ...roles.map((r) => `GRANT ${ident(r)}${to}`)]);
    const extra = lines.filter((l) => l.endsWith(to) && !allowed.has(l));
    if (extra.length > 0) {
      throw new ProvisionError('refused', `${this.target.name}: role ${name} (Portcullis's role for ${roles.join(', ')}) carries grants Portcullis did not give it: ${extra.join('; ')}; drop the role and try again`);
    }
    return name;
  }

  /** The account's first login: it makes `role` its own default (MariaDB lets a user do that without rights on the mysql schema). */
  private async setOwnDefaultRole(user: string, role: string, password: Buffer): Promise<void> {
    const secret = Buffer.from(password);
    const cred: UpstreamCredential = { kind: 'password', account: user, secret, wipe: () => secret.fill(0) };
    const own = await login(this.target, cred);
    try {
      await own.query(`SET DEFAULT ROLE ${ident(role)}`);
    } catch (e) {
      throw asProvisionError(e, this.target);
    } finally {
      await own.conn.close();
    }
  }

  async dropAccount(user: string): Promise<void> {
    if (!isEphemeralAccountName(user)) throw new ProvisionError('refused', `not an ephemeral account name: ${JSON.stringify(user)}`);
    const who = account(user, HOST);
    // No new logins from here on; absent (1396) is fine: connections may outlive a dropped user.
    const locked = await this.attempt(`ALTER USER ${who} ACCOUNT LOCK`);
    if (locked !== 0 && locked !== ER_CANNOT_USER) throw new ProvisionError(DENIED.has(locked) ? 'missing-right' : 'refused', `${this.target.name}: locking ${user} failed (error ${locked})`);
    await this.killAll(user);
    await this.run(`DROP USER IF EXISTS ${who}`);
    // A login that was past its password check when the lock landed.
    await this.killAll(user);
  }

  private async killAll(user: string): Promise<void> {
    const ids = rowsOf(await this.run(`SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ${this.lit(user)}`)).map((r) => r[0]);
    for (const id of ids) {
      if (!id || !/^\d+$/.test(id)) continue;
      const code = await this.attempt(`KILL CONNECTION ${id}`);
      if (code !== 0 && code !== ER_NO_SUCH_THREAD) {
        throw new ProvisionError(DENIED.has(code) || code === ER_KILL_DENIED ? 'missing-right' : 'refused', `${this.target.name}: cannot end ${user}'s connection ${id} (error ${code}): the provisioner needs CONNECTION ADMIN or SUPER`);
      }
    }
  }

  async checkProvisioner(levels: readonly AccessLevel[]): Promise<string[]> {
    const missing: string[] = [];
    const privs = new Set(rowsOf(await this.run('SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES')).map((r) => (r[0] ?? '').toUpperCase()));
    if (!privs.has('CREATE USER')) missing.push(`CREATE USER (GRANT CREATE USER ON *.* TO ${this.self})`);
    if (!privs.has('PROCESS')) missing.push(`PROCESS, to see the connections of ephemeral accounts (GRANT PROCESS ON *.* TO ${this.self})`);
    const killRight = this.flavor.mariadb ? 'CONNECTION ADMIN' : 'CONNECTION_ADMIN';
    const canKill = privs.has('SUPER') || privs.has(killRight);
    if (!canKill) missing.push(`${killRight}, to end the connections of ephemeral accounts (GRANT ${killRight} ON *.* TO ${this.self})`);
    const applicable = new Map(rowsOf(await this.run('SELECT ROLE_NAME, IS_GRANTABLE FROM information_schema.APPLICABLE_ROLES')).map((r) => [r[0] ?? '', r[1] === 'YES']));
    const roles = [...new Set(levels.flatMap((l) => l.grants))];
    for (const role of roles) {
      try {
        checkName(role);
      } catch (e) {
        missing.push((e as Error).message);
        continue;
      }
      const grantable = applicable.get(role);
      if (grantable === undefined) {
        const exists = await this.roleExists(role);
        missing.push(exists === false ? `role ${role} does not exist`
          : exists === true ? `role ${role} is not granted to the provisioner (GRANT ${ident(role)} TO ${this.self} WITH ADMIN OPTION)`
            : `role ${role} does not exist or is not granted to the provisioner WITH ADMIN OPTION`);
        continue;
      }
      if (!grantable) {
        missing.push(`role ${role} is granted to the provisioner without ADMIN OPTION (GRANT ${ident(role)} TO ${this.self} WITH ADMIN OPTION)`);
        continue;
      }
      const global = await this.roleGlobalPrivileges(role);
      if (global.length > 0) missing.push(`role ${role} carries global privileges (${global.join(', ')}): a level should grant database or table privileges only`);
    }
    return missing;
  }

  /** true / false, or null when the provisioner may not read the grant tables. */
  private async roleExists(role: string): Promise<boolean | null> {
    const sql = this.flavor.mariadb
      ? `SELECT COUNT(*) FROM mysql.user WHERE User = ${this.lit(role)} AND is_role = 'Y'`
      : `SELECT COUNT(*) FROM mysql.user WHERE User = ${this.lit(role)}`;
    try {
      const r = rowsOf(await this.conn.query(sql));
      return (r[0]?.[0] ?? '0') !== '0';
    } catch (e) {
      if (e instanceof ServerError) return null;
      throw asProvisionError(e, this.target);
    }
  }

  /** Global privileges a role brings (with the roles it holds), read as the role itself. */
  private async roleGlobalPrivileges(role: string): Promise<string[]> {
    let lines: string[];
    if (this.flavor.mariadb) {
      await this.run(`SET ROLE ${ident(role)}`);
      try {
        lines = rowsOf(await this.run('SHOW GRANTS FOR CURRENT_ROLE')).map((r) => r[0] ?? '');
      } finally {
        await this.attempt('SET ROLE NONE');
      }
    } else {
      try {
        lines = rowsOf(await this.conn.query(`SHOW GRANTS FOR ${ident(role)}`)).map((r) => r[0] ?? '');
      } catch {
        return [];
      }
    }
    const out = new Set<string>();
    for (const l of lines) {
      const g = globalGrant(l);
      if (!g) continue;
      for (const p of g.privileges) if (p !== 'USAGE') out.add(p);
      if (g.grantOption) out.add('GRANT OPTION');
    }
    return [...out];
  }

  async discover(): Promise<PrivilegedAccount[]> {
    const sql = this.flavor.mariadb && atLeast(this.flavor, 10, 4)
      ? "SELECT User, Host, JSON_VALUE(Priv, '$.is_role'), JSON_VALUE(Priv, '$.account_locked') FROM mysql.global_priv"
      : this.flavor.mariadb
        ? "SELECT User, Host, IF(is_role = 'Y', 'true', 'false'), 'false' FROM mysql.user"
        : "SELECT User, Host, 'false', IF(account_locked = 'Y', 'true', 'false') FROM mysql.user";
    let users: (string | null)[][];
    try {
      users = rowsOf(await this.conn.query(sql));
    } catch (e) {
      if (e instanceof ServerError && DENIED.has(e.code)) {
        throw new ProvisionError('missing-right', `${this.target.name}: discovery reads the grant tables: GRANT SELECT ON mysql.* TO ${this.self}`);
      }
      throw asProvisionError(e, this.target);
    }
    const byUser = new Map<string, Set<string>>();
    const roleCache = new Map<string, string[]>();
    for (const [user, host, isRole, locked] of users) {
      if (user === null || user === undefined || host === null || host === undefined || user === '') continue;
      // Roles cannot log in; nor can locked accounts (system accounts such as mariadb.sys are locked).
      if (isTrue(isRole) || isTrue(locked)) continue;
      const words = await this.privilegesOf(account(user, host), new Set(), roleCache);
      if (words.length === 0) continue;
      const set = byUser.get(user) ?? new Set<string>();
      for (const w of words) set.add(w);
      byUser.set(user, set);
    }
    return [...byUser].map(([a, s]) => ({ account: a, privileges: [...s].sort() }));
  }

  /** The privilege words of a user or role (`who` already quoted), roles it holds included. */
  private async privilegesOf(who: string, seen: Set<string>, cache: Map<string, string[]>): Promise<string[]> {
    const cached = cache.get(who);
    if (cached) return cached;
    if (seen.has(who)) return [];
    seen.add(who);
    const lines = rowsOf(await this.run(`SHOW GRANTS FOR ${who}`)).map((r) => r[0] ?? '');
    const out = new Set<string>();
    for (const l of lines) {
      const g = globalGrant(l);
      if (g) {
        if (g.grantOption) out.add('grant-option');
        for (const p of g.privileges) {
          if (p === 'USAGE') continue;
          out.add(p === 'ALL PRIVILEGES' || p === 'ALL' ? 'all-privileges' : p === 'SUPER' ? 'super' : `global:${p}`);
        }
        continue;
      }
      if (/^GRANT .+ ON .+ TO .+ WITH GRANT OPTION/s.test(l) && !/^GRANT PROXY ON /.test(l)) out.add('grant-option');
      // Roles the account holds: their privileges are one SET ROLE away.
      const held = /^GRANT ((?:`(?:[^`]|``)*`(?:@`(?:[^`]|``)*`)?(?:, )?)+) TO /s.exec(l);
      if (held) {
        for (const m of held[1]!.matchAll(/`((?:[^`]|``)*)`(?:@`((?:[^`]|``)*)`)?/g)) {
          const roleName = m[1]!.replaceAll('``', '`');
          const role = m[2] !== undefined ? account(roleName, m[2].replaceAll('``', '`')) : ident(roleName);
          for (const w of await this.privilegesOf(role, seen, cache)) out.add(w);
        }
      }
    }
    const words = [...out];
    cache.set(who, words);
    return words;
  }

  async setOwnSecret(next: Buffer): Promise<void> {
    const sql = this.flavor.mariadb
      ? `SET PASSWORD = ${this.lit(nativeHash(next))}`
      : atLeast(this.flavor, 8, 4)
        ? `ALTER USER CURRENT_USER() IDENTIFIED BY ${this.lit(next.toString('utf8'))}`
        : `ALTER USER CURRENT_USER() IDENTIFIED WITH mysql_native_password AS ${this.lit(nativeHash(next))}`;
    await this.run(sql, true);
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}

/** JSON_VALUE renders a JSON true as 1 (MariaDB 10.11); the other branches say 'true'. */
const isTrue = (v: string | null | undefined): boolean => v === 'true' || v === '1';

/** A level's role name: something MySQL can name, and never one of ours (an account or a combining role). */
function checkName(role: string): void {
  try {
    ident(role);
  } catch {
    throw new ProvisionError('no-such-level-grant', `role ${JSON.stringify(role)} is not a valid MySQL role name`);
  }
  if (role.startsWith('pcx_')) throw new ProvisionError('no-such-level-grant', `role ${role}: names starting with pcx_ are Portcullis's own`);
}
