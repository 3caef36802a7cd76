// The read-only half of the MySQL/MariaDB provisioner: what the provisioner account lacks to manage
// ephemeral accounts at given levels (checkProvisioner), and which users hold privilege on the
// target (discover). It runs over the provisioner's admin session and changes nothing on the target
// but its own session's active role (SET ROLE, reset after).
import { type AdminSession, type PrivilegedAccount, ProvisionError } from '../provision/provisioner.js';
import type { TargetRecord } from '../session/adapter.js';
import { type AdminQueryConnection, type QueryResult, ServerError, rowsOf } from './admin-query.js';
import { DENIED, asProvisionError, checkName } from './admin-errors.js';
import { type Flavor, account, atLeast, globalGrant, ident } from './admin-sql.js';

type AccessLevel = Parameters<AdminSession['checkProvisioner']>[0][number];

/** What the inspection needs of an admin session. */
export interface AdminContext {
  readonly target: TargetRecord;
  readonly conn: AdminQueryConnection;
  readonly flavor: Flavor;
  /** The provisioner as the server knows it ("prov@%"). */
  readonly self: string;
  lit(s: string): string;
  run(sql: string): Promise<QueryResult>;
  attempt(sql: string): Promise<number>;
}

/** USER_PRIVILEGES' GRANTEE for CURRENT_USER()'s "user@host" ('user'@'host'; a host has no '@', a user name may). */
function grantee(self: string): string {
  const at = self.lastIndexOf('@');
  return `'${self.slice(0, at)}'@'${self.slice(at + 1)}'`;
}

/** JSON_VALUE renders a JSON true as 1 (MariaDB 10.11); the other branches say 'true'. */
const isTrue = (v: string | null | undefined): boolean => v === 'true' || v === '1';

export class MyInspection {
  constructor(private readonly ctx: AdminContext) {}

async checkProvisioner(levels: readonly AccessLevel[]): Promise<string[]> {
    const missing: string[] = [];
    // USER_PRIVILEGES lists every account's privileges to a reader of the mysql schema (which
    // discovery needs): without the filter, root's SUPER would pass for the provisioner's own.
    const privs = new Set(rowsOf(await this.ctx.run(`SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ${this.ctx.lit(grantee(this.ctx.self))}`))
      .map((r) => (r[0] ?? '').toUpperCase()));
    if (!privs.has('CREATE USER')) missing.push(`CREATE USER (GRANT CREATE USER ON *.* TO ${this.ctx.self})`);
    if (!privs.has('PROCESS')) missing.push(`PROCESS, to see the connections of ephemeral accounts (GRANT PROCESS ON *.* TO ${this.ctx.self})`);
    // CONNECTION ADMIN split off SUPER in MariaDB 10.5.2; MySQL spells its dynamic privilege with an underscore.
    const f = this.ctx.flavor;
    const killRight = !f.mariadb ? 'CONNECTION_ADMIN' : atLeast(f, 10, 5, 2) ? 'CONNECTION ADMIN' : 'SUPER';
    const canKill = privs.has('SUPER') || privs.has(killRight);
    if (!canKill) missing.push(`${killRight}, to end the connections of ephemeral accounts (GRANT ${killRight} ON *.* TO ${this.ctx.self})`);
    const applicable = new Map(rowsOf(await this.ctx.run('SELECT ROLE_NAME, IS_GRANTABLE FROM information_schema.APPLICABLE_ROLES')).map((r) => [r[0] ?? '', r[1] === 'YES']));
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
          : exists === true ? `role ${role} is not granted to the provisioner (GRANT ${ident(role)} TO ${this.ctx.self} WITH ADMIN OPTION)`
            : `role ${role} does not exist or is not granted to the provisioner WITH ADMIN OPTION`);
        continue;
      }
      if (!grantable) {
        missing.push(`role ${role} is granted to the provisioner without ADMIN OPTION (GRANT ${ident(role)} TO ${this.ctx.self} WITH ADMIN OPTION)`);
        continue;
      }
      const global = await this.roleGlobalPrivileges(role);
      if (global.length > 0) missing.push(`role ${role} carries global privileges (${global.join(', ')}): a level should grant database or table privileges only`);
    }
    return missing;
  }

  /** true / false, or null when the provisioner may not read the grant tables. */
  private async roleExists(role: string): Promise<boolean | null> {
    const sql = this.ctx.flavor.mariadb
      ? `SELECT COUNT(*) FROM mysql.user WHERE User = ${this.ctx.lit(role)} AND is_role = 'Y'`
      : `SELECT COUNT(*) FROM mysql.user WHERE User = ${this.ctx.lit(role)}`;
    try {
      const r = rowsOf(await this.ctx.conn.query(sql));
      return (r[0]?.[0] ?? '0') !== '0';
    } catch (e) {
      if (e instanceof ServerError) return null;
      throw asProvisionError(e, this.ctx.target);
    }
  }

  /** Global privileges a role brings (with the roles it holds), read as the role itself. */
  private async roleGlobalPrivileges(role: string): Promise<string[]> {
    let lines: string[];
    if (this.ctx.flavor.mariadb) {
      await this.ctx.run(`SET ROLE ${ident(role)}`);
      try {
        lines = rowsOf(await this.ctx.run('SHOW GRANTS FOR CURRENT_ROLE')).map((r) => r[0] ?? '');
      } finally {
        await this.ctx.attempt('SET ROLE NONE');
      }
    } else {
      try {
        lines = rowsOf(await this.ctx.conn.query(`SHOW GRANTS FOR ${ident(role)}`)).map((r) => r[0] ?? '');
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
    const sql = this.ctx.flavor.mariadb && atLeast(this.ctx.flavor, 10, 4)
      ? "SELECT User, Host, JSON_VALUE(Priv, '$.is_role'), JSON_VALUE(Priv, '$.account_locked') FROM mysql.global_priv"
      : this.ctx.flavor.mariadb
        ? "SELECT User, Host, IF(is_role = 'Y', 'true', 'false'), 'false' FROM mysql.user"
        : "SELECT User, Host, 'false', IF(account_locked = 'Y', 'true', 'false') FROM mysql.user";
    let users: (string | null)[][];
    try {
      users = rowsOf(await this.ctx.conn.query(sql));
    } catch (e) {
      if (e instanceof ServerError && DENIED.has(e.code)) {
        throw new ProvisionError('missing-right', `${this.ctx.target.name}: discovery reads the grant tables: GRANT SELECT ON mysql.* TO ${this.ctx.self}`);
      }
      throw asProvisionError(e, this.ctx.target);
    }
    // One row per account ('user'@'host'): a twin of the vaulted user at another host is another
    // account, with its own password, and must not pass for the managed one.
    const byAccount = new Map<string, { privileges: Set<string>; self: boolean }>();
    const me = grantee(this.ctx.self);
    const roleCache = new Map<string, string[]>();
    for (const [user, host, isRole, locked] of users) {
      if (user === null || user === undefined || host === null || host === undefined || user === '') continue;
      // Roles cannot log in; nor can locked accounts (system accounts such as mariadb.sys are locked).
      if (isTrue(isRole) || isTrue(locked)) continue;
      const words = await this.privilegesOf(account(user, host), new Set(), roleCache);
      if (words.length === 0) continue;
      const name = `'${user}'@'${host}'`;
      const entry = byAccount.get(name) ?? { privileges: new Set<string>(), self: name === me };
      for (const w of words) entry.privileges.add(w);
      byAccount.set(name, entry);
    }
    return [...byAccount].map(([a, e]) => ({ account: a, privileges: [...e.privileges].sort(), ...(e.self ? { self: true } : {}) }));
  }

  /** The privilege words of a user or role (`who` already quoted), roles it holds included. */
  private async privilegesOf(who: string, seen: Set<string>, cache: Map<string, string[]>): Promise<string[]> {
    const cached = cache.get(who);
    if (cached) return cached;
    if (seen.has(who)) return [];
    seen.add(who);
    const lines = rowsOf(await this.ctx.run(`SHOW GRANTS FOR ${who}`)).map((r) => r[0] ?? '');
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
}
