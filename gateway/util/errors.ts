// Errors with a stable code. The code is the contract (API JSON, CLI output, tests); the message
// is for people and always says what to do next. HTTP status is derived from the code in one place.

export const ERROR_STATUS = {
  'bad-request': 400,
  'bad-duration': 400,
  'reason-required': 400,
  'ticket-invalid': 400,
  /** The policy's ticket system did not give a usable answer (down, slow, garbage): the request was not made. */
  'ticket-check-failed': 502,
  'duration-too-long': 400,
  'unauthenticated': 401,
  'invalid-credentials': 401,
  'totp-required': 401,
  'forbidden': 403,
  'user-disabled': 403,
  'no-policy': 403,
  'self-approval': 403,
  'not-approver': 403,
  'no-active-grant': 403,
  /** The grant's policy has an access window and it is shut now (access/windows.ts). */
  'outside-window': 403,
  'not-found': 404,
  'conflict': 409,
  'duplicate-approval': 409,
  'not-pending': 409,
  'grant-inactive': 409,
  'link-invalid': 404,
  'link-used': 410,
  'link-expired': 410,
  'link-revoked': 410,
  'link-pending': 409,
  'locked': 429,
  'payload-too-large': 413,
  'unavailable': 503,
  /** The gateway's store (database) cannot be reached: nothing new can be decided; retry shortly. */
  'store-unavailable': 503,
  'storage-full': 507,
  'internal': 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class PortcullisError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'PortcullisError';
    this.code = code;
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function isPortcullisError(err: unknown): err is PortcullisError {
  return err instanceof PortcullisError;
}

export function fail(code: ErrorCode, message: string): never {
  throw new PortcullisError(code, message);
}
