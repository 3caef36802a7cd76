// One wording for "the store is down", whatever the engine said. A PostgreSQL store that lost its
// server rejects with `unavailable` (or, from deep in the driver, a socket error); what a client of
// SSH, psql or mysql then sees must be clear and must not name the database's address. The app
// wraps its store with `withUnreachableWording`: every rejected call whose error says the store
// could not be reached becomes PortcullisError('store-unavailable', STORE_UNREACHABLE), the original
// kept as its cause for the log. Other errors (conflicts, bugs) pass unchanged. It decides nothing.
import { isPortcullisError, PortcullisError } from '../util/errors.js';
import type { Store } from './store.js';

export const STORE_UNREACHABLE = 'Portcullis cannot reach its store; try again shortly';

/** Socket-level codes, and PostgreSQL's connection (08) and shutdown (57P0x) SQLSTATE classes. */
const UNREACHABLE_CODE = /^(E(CONN(REFUSED|RESET|ABORTED)|TIMEDOUT|PIPE|HOSTUNREACH|NETUNREACH|NOTFOUND|AI_AGAIN)|08\w{3}|57P0\d)$/;

export function isStoreUnreachable(err: unknown): boolean {
  if (isPortcullisError(err)) return err.code === 'unavailable' || err.code === 'store-unavailable';
  if (!(err instanceof Error)) return false;
  const code = (err as Error & { code?: unknown }).code;
  return (typeof code === 'string' && UNREACHABLE_CODE.test(code)) || /Connection terminated|connection is closed|Client has encountered a connection error/i.test(err.message);
}

export function unreachableError(cause: unknown): PortcullisError {
  const e = new PortcullisError('store-unavailable', STORE_UNREACHABLE);
  (e as PortcullisError & { cause?: unknown }).cause = cause;
  return e;
}

const reword = (err: unknown): never => {
  if (isStoreUnreachable(err) && !(isPortcullisError(err) && err.code === 'store-unavailable')) throw unreachableError(err);
  throw err;
};

/**
 * A transaction rejects with whatever its callback threw: the store calls inside were reworded
 * already, and a service's own `unavailable` (hashing busy, a rotation lock) is not the store's.
 * Only the driver's own errors (BEGIN or COMMIT failing) are reworded here.
 */
const rewordTransaction = (err: unknown): never => {
  if (!isPortcullisError(err) && isStoreUnreachable(err)) throw unreachableError(err);
  throw err;
};

/** The same store, with the wording above on every repository call and transaction. */
export function withUnreachableWording(store: Store): Store {
  const wrapFn = (fn: (...a: unknown[]) => unknown, self: unknown, onError: (err: unknown) => never = reword) => (...a: unknown[]): unknown => {
    const r = fn.apply(self, a);
    return r instanceof Promise ? r.catch(onError) : r;
  };
  const repos = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      // Notifications report their own state (listening or not); close must close, whatever it says.
      if (prop === 'notifications' || prop === 'close') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      if (typeof v === 'function') return wrapFn(v as (...a: unknown[]) => unknown, target, prop === 'transaction' ? rewordTransaction : reword);
      if (v === null || typeof v !== 'object') return v;
      let repo = repos.get(prop);
      if (!repo) {
        const inner = v as Record<PropertyKey, unknown>;
        repo = new Proxy(inner, {
          get(t, p) {
            const f = t[p];
            return typeof f === 'function' ? wrapFn(f as (...a: unknown[]) => unknown, t) : f;
          },
        });
        repos.set(prop, repo);
      }
      return repo;
    },
  });
}
