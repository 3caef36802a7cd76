// Opens the store a node is configured with, for `init` and `serve`, and turns any failure to reach
// it into one clear sentence: "cannot reach the store at postgres://user@host:port/db: <reason>".
// The password in the URL (and in any reason a driver echoes) never reaches the message: these
// lines end up in terminals, logs and CI output.
// It does not decide whether the node may join the cluster (cluster-membership.ts does).
import { openStore } from '../store/open-store.js';
import type { PostgresStoreOptions } from '../store/postgres/postgres-store.js';
import type { Store } from '../store/store.js';
import { PortcullisError, isPortcullisError } from '../util/errors.js';

/** A store URL as it may be shown: scheme, user, host, port and database; never the password or the query. */
export function redactStoreUrl(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `${u.protocol}//${user}${u.host}${u.pathname}`;
  } catch {
    return '[an invalid store URL]';
  }
}

/** The password of a store URL, to scrub it from driver messages (empty when there is none). */
function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

export function scrubSecret(text: string, url: string): string {
  const password = passwordOf(url);
  let out = text.split(url).join(redactStoreUrl(url));
  if (password.length > 0) out = out.split(password).join('***');
  return out;
}

export async function openNodeStore(where: { url: string | null; sqliteFile: string }, opts: PostgresStoreOptions = {}): Promise<Store> {
  try {
    return await openStore(where, opts);
  } catch (err) {
    if (where.url === null) throw err;
    const reason = scrubSecret(err instanceof Error ? err.message : String(err), where.url);
    // A schema newer than this build keeps its own code (conflict) and wording: it is not "unreachable".
    const code = isPortcullisError(err) && err.code === 'conflict' ? 'conflict' : 'unavailable';
    const message = code === 'conflict' ? `the store at ${redactStoreUrl(where.url)}: ${reason}` : `cannot reach the store at ${redactStoreUrl(where.url)}: ${reason}`;
    throw new PortcullisError(code, message);
  }
}
