// Names of users, targets, policies and roles. `+` separates user from target in every protocol's
// user name, so it can never be part of a name; neither can whitespace or control characters.
import { PortcullisError } from '../util/errors.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkName(kind: string, name: string): string {
  if (!NAME.test(name)) {
    throw new PortcullisError('bad-request',
      `invalid ${kind} name "${name.slice(0, 80)}": use 1-64 letters, digits, ".", "_" or "-" (no "+"), starting with a letter or digit`);
  }
  return name;
}

export function requireText(field: string, value: unknown, max = 1000): string {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new PortcullisError(field === 'reason' ? 'reason-required' : 'bad-request', `${field} is required and must not be empty`);
  }
  if (value.length > max) throw new PortcullisError('bad-request', `${field} is longer than ${max} characters`);
  return value.trim();
}
