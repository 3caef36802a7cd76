// What PostgreSQL's and node-postgres's errors mean to callers of the Store: a uniqueness violation
// is a `conflict` (the same words as the SQLite store), a lost or refused connection is
// `unavailable`. Messages name the server (host:port) and never the URL, which may carry a password.
import { PortcullisError } from '../../util/errors.js';

/**
 * SQLSTATE classes and codes that mean "the server is not there for us right now": connection
 * exceptions, resources, shutdown, and a login the server refuses (bad password, no such database).
 */
const UNAVAILABLE_SQLSTATE = /^(08|28|53|57P0[1-3]|3D000)/;
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);
const UNAVAILABLE_TEXT = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|not queryable|Cannot use a pool after calling end|Query read timeout/i;

interface PgLikeError { code?: unknown; constraint?: unknown; message?: unknown }

/**
 * host:port of a postgres:// URL, for messages (never the user or password). Rejects anything
 * else with a message that does not echo the URL: the driver's own URL error carries the whole
 * string, password included, in a property a logger would print.
 */
export function serverName(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PortcullisError('bad-request', 'the store is not a valid URL: expected postgres://USER:PASSWORD@HOST:PORT/DATABASE');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new PortcullisError('bad-request', 'the store URL must start with postgres:// or postgresql://');
  }
  if (!u.hostname) throw new PortcullisError('bad-request', 'the store URL names no host: expected postgres://USER:PASSWORD@HOST:PORT/DATABASE');
  return `${u.hostname}:${u.port || '5432'}`;
}

export function isUnavailable(err: unknown): boolean {
  if (err instanceof PortcullisError) return err.code === 'unavailable';
  const e = (err ?? {}) as PgLikeError;
  const code = typeof e.code === 'string' ? e.code : '';
  return UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code) || UNAVAILABLE_TEXT.test(typeof e.message === 'string' ? e.message : '');
}

/**
 * The error a store call rejects with. `subject` names the record for conflicts, e.g. `user "alice"`.
 * Errors that are neither pass through (a bug, or a trigger such as the audit log's).
 */
export function storeError(err: unknown, server: string, subject?: string): Error {
  if (err instanceof PortcullisError) return err;
  const e = (err ?? {}) as PgLikeError;
  if (e.code === '23505') return new PortcullisError('conflict', `${subject ?? 'record'} already exists`);
  if (isUnavailable(err)) return new PortcullisError('unavailable', `the PostgreSQL store at ${server} is unavailable: ${describe(e)}`);
  return err instanceof Error ? err : new Error(String(err));
}

/** A short reason: the errno or SQLSTATE and the driver's message (which holds no credentials). */
function describe(e: PgLikeError): string {
  const msg = typeof e.message === 'string' && e.message ? e.message : 'connection failed';
  return typeof e.code === 'string' && !msg.includes(e.code) ? `${msg} (${e.code})` : msg;
}
