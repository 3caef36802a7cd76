// How the MySQL provisioner words a server's refusal for the admin: which codes mean a missing right
// or a missing role, and the one refusal that must not be "fixed" by sending a password in clear.
// Statements that carry a password hash never have the server's words echoed (a syntax error
// quotes the statement).
import type { TargetRecord } from '../session/adapter.js';
import { ProvisionError } from '../provision/provisioner.js';
import { ServerError } from './admin-query.js';
import { ident } from './admin-sql.js';

/**
 * With a password validation plugin and strict_password_validation, MariaDB refuses a password given
 * as a hash (1290, "running with the --strict-password-validation option"); 1819 where a plugin
 * judges the statement. Only the server's words tell 1290 apart from --read-only; they are not echoed.
 */
export const isHashRefusal = (e: ServerError): boolean => e.code === 1819 || (e.code === 1290 && /strict.password.validation/i.test(e.message));
export const HASH_REFUSED = 'the server\'s password validation refuses passwords given as a hash (strict_password_validation=ON with a validation plugin); Portcullis never sends them in clear: set strict_password_validation=OFF';
export const DENIED = new Set([1044, 1045, 1142, 1143, 1227, 1370, 1698]);
/** MariaDB ER_INVALID_ROLE, MySQL ER_UNKNOWN_AUTHID: a level names a role the server does not have. */
export const NO_SUCH_ROLE = new Set([1959, 3523]);

/** A server refusal as the admin reads it; `secret` statements never echo the server's words (a syntax error quotes the statement). */
export function asProvisionError(e: unknown, target: TargetRecord, secret = false): ProvisionError {
  if (e instanceof ProvisionError) return e;
  if (e instanceof ServerError) {
    if (isHashRefusal(e)) return new ProvisionError('refused', `${target.name}: ${HASH_REFUSED}`);
    const words = secret ? `error ${e.code}` : `${e.message} (${e.code})`;
    const kind = DENIED.has(e.code) ? 'missing-right' : NO_SUCH_ROLE.has(e.code) ? 'no-such-level-grant' : 'refused';
    return new ProvisionError(kind, `${target.name}: ${words}`);
  }
  return new ProvisionError('protocol', `${target.name}: unexpected failure`);
}

/** A level's role name: something MySQL can name, and never one of ours (an account or a combining role). */
export function checkName(role: string): void {
  try {
    ident(role);
  } catch {
    throw new ProvisionError('no-such-level-grant', `role ${JSON.stringify(role)} is not a valid MySQL role name`);
  }
  if (role.startsWith('pcx_')) throw new ProvisionError('no-such-level-grant', `role ${role}: names starting with pcx_ are Portcullis's own`);
}
