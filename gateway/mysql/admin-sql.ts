// The SQL pieces the MySQL/MariaDB provisioner builds, sans-I/O: the server flavor from the greeting,
// quoted identifiers, account names and string literals, and the native password hash sent instead
// of a password. Identifiers (roles, users, hosts) are always backtick-quoted: inside backticks only
// a backtick is special (doubled), whatever sql_mode says, so a hostile role name stays one name.
// String literals depend on NO_BACKSLASH_ESCAPES, which the caller reads from its own session.
import { createHash } from 'node:crypto';

export interface Flavor {
  mariadb: boolean;
  /** major.minor, e.g. [10, 11] or [8, 0]. */
  version: [number, number];
  patch: number;
}

/** MariaDB announces itself as "5.5.5-10.11.6-MariaDB-..." (or "11.4.2-MariaDB" from 11.0); MySQL as "8.0.36". */
export function flavorOf(serverVersion: string): Flavor {
  const mariadb = /mariadb/i.test(serverVersion);
  const v = serverVersion.replace(/^5\.5\.5-/, '');
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(v);
  return { mariadb, version: m ? [Number(m[1]), Number(m[2])] : [0, 0], patch: Number(m?.[3] ?? 0) };
}

export const atLeast = (f: Flavor, major: number, minor: number, patch = 0): boolean =>
  f.version[0] !== major ? f.version[0] > major : f.version[1] !== minor ? f.version[1] > minor : f.patch >= patch;

/** A role, user or host name: refused when empty, over 128 characters, or holding NUL (no quoting makes NUL safe in every client). */
export function ident(name: string): string {
  if (name.length === 0 || name.length > 128 || name.includes('\0')) throw new RangeError('not a valid MySQL name');
  return '`' + name.replaceAll('`', '``') + '`';
}

/** `user`@`host`; the host may be empty (roles, and the anonymous account's ''@''). */
export const account = (user: string, host: string): string => `${ident(user)}@${host === '' ? '``' : ident(host)}`;

/**
 * A string literal: quotes doubled (valid in every mode); backslashes doubled unless the session runs
 * with NO_BACKSLASH_ESCAPES, where a backslash is an ordinary character. NUL refused.
 */
export function literal(s: string, noBackslashEscapes: boolean): string {
  if (s.includes('\0')) throw new RangeError('NUL in a string literal');
  const body = noBackslashEscapes ? s : s.replaceAll('\\', '\\\\');
  return "'" + body.replaceAll("'", "''") + "'";
}

/** mysql_native_password's stored form: "*" and the upper-case hex of SHA1(SHA1(password)). */
export function nativeHash(password: Buffer): string {
  const inner = createHash('sha1').update(password).digest();
  const outer = createHash('sha1').update(inner).digest('hex').toUpperCase();
  inner.fill(0);
  return '*' + outer;
}

/** A short stable suffix for a combining role from a level's role list (order does not matter). */
export function roleSetHash(roles: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify([...new Set(roles)].sort())).digest('hex').slice(0, 16);
}

/**
 * The privileges of one `SHOW GRANTS` line that grants on *.* (global privileges), upper case, and
 * whether it carries WITH GRANT OPTION; null for any other line (database, table, role, proxy).
 */
export function globalGrant(line: string): { privileges: string[]; grantOption: boolean } | null {
  const m = /^GRANT (.+?) ON \*\.\* TO /s.exec(line);
  // A role grant ("GRANT `r` TO ...") names no privilege; a quote here means a name, not a privilege list.
  if (!m || /[`'"]/.test(m[1]!)) return null;
  const privileges = m[1]!.split(',').map((p) => p.trim().toUpperCase()).filter((p) => p.length > 0);
  return { privileges, grantOption: /\bWITH GRANT OPTION\b/.test(line.slice(m[0].length).replace(/'(?:[^']|'')*'|`(?:[^`]|``)*`/g, '')) };
}
