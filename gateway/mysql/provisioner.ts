// The MySQL/MariaDB side of gateway/provision/provisioner.ts: ephemeral users for grants, rotation of
// the static account's own password, the provisioner's rights check and discovery of privileged
// users. Logs in with connectMyUpstream (a session's TLS, RSA pin and weak-auth rules), then runs
// statements it builds itself over admin-query.ts. What is created when is decided by the services
// in gateway/provision; this module only translates. The rights check and discovery, which change
// nothing, are admin-inspect.ts.
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
import { AdminQueryConnection, type QueryResult, ServerError, rowsOf } from './admin-query.js';
import { DENIED, HASH_REFUSED, asProvisionError, checkName, isHashRefusal } from './admin-errors.js';
import { type AdminContext, MyInspection } from './admin-inspect.js';
import { type Flavor, account, atLeast, flavorOf, ident, literal, nativeHash, roleSetHash } from './admin-sql.js';
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

  private context(): AdminContext {
    return {
      target: this.target, conn: this.conn, flavor: this.flavor, self: this.self,
      lit: (s) => this.lit(s), run: (sql) => this.run(sql), attempt: (sql) => this.attempt(sql),
    };
  }

  checkProvisioner(levels: readonly AccessLevel[]): Promise<string[]> {
    return new MyInspection(this.context()).checkProvisioner(levels);
  }

  discover(): Promise<PrivilegedAccount[]> {
    return new MyInspection(this.context()).discover();
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
