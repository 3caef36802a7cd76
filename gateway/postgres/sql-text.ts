// Identifiers and literals the gateway writes into SQL it sends a PostgreSQL target on its own
// account (the provisioner: role names from a target's levels, comments, verifiers, timestamps).
// Everything goes through here, quoted, so a level role named `x"; DROP ROLE postgres; --` is one
// (non-existent) role name and nothing else. Does not send anything; admin-query.ts does.

/** A name PostgreSQL would not take as written: refused before any SQL is built with it. */
export class SqlTextError extends Error {}

/** PostgreSQL's NAMEDATALEN - 1: longer names are silently truncated, which could name another role. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * A double-quoted identifier (embedded double quotes doubled). Refuses what the server would change
 * behind our back: an empty name, a NUL, or more than 63 bytes (truncated to a different name).
 */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new SqlTextError('an empty role name');
  if (name.includes('\0')) throw new SqlTextError('a role name with a NUL character');
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) throw new SqlTextError(`a role name longer than ${MAX_IDENTIFIER_BYTES} bytes (PostgreSQL would truncate it)`);
  return '"' + name.replaceAll('"', '""') + '"';
}

/**
 * A string literal. Written as an escape string (E'...', backslashes and single quotes doubled), whose
 * meaning does not depend on the server's standard_conforming_strings, so a backslash can never end
 * the literal early whatever the target is configured with. The session's client_encoding is UTF8
 * (set at login), so no multi-byte sequence can hide a quote.
 */
export function quoteLiteral(text: string): string {
  if (text.includes('\0')) throw new SqlTextError('a text with a NUL character');
  return "E'" + text.replaceAll('\\', '\\\\').replaceAll("'", "''") + "'";
}
