// The cluster's directory of gateway-made MySQL connection ids (mysql/connection-ids.ts's port), on
// the store's mysql_connections table, so a `KILL <id>` that lands on any node finds the thread
// of a session on another node. A lookup answers only when every record agrees: the id's row is
// this user's on this target, on another node; its session is live and brokered by that node;
// and that node, when it has a record, is up and beat within `lostAfterMs` (store clock). So a row
// left by a node that died — also in the seconds before the sweeper marks it lost and removes its
// rows — or by an ended session never names a thread id the target may have reused.
import type { Logger } from '../log/logger.js';
import { LOG } from '../log/logger.js';
import type { ConnectionDirectory } from '../mysql/connection-ids.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { isPortcullisError } from '../util/errors.js';

/** How long a KILL waits for the store before the id counts as unknown. */
export const LOOKUP_TIMEOUT_MS = 3000;

/** Liveness of the owner node: silent for `lostAfterMs` (cluster.nodeLostAfter) it is dead for a KILL. */
export interface OwnerLiveness { clock: Clock; lostAfterMs: number }

/** Without `liveness` only the owner node's recorded state counts. */
export function storeConnectionDirectory(store: Store, node: string, log: Logger, liveness?: OwnerLiveness): ConnectionDirectory {
  // Rows of this node's earlier run are stale (their sessions ended with it); gone before the first claim.
  const ready = store.mysqlConnections.removeForNode(node).catch((err: unknown) =>
    log.warn({ reason: err instanceof Error ? err.message : String(err) }, LOG.mysqlConnectionIdsNotCleared));
  return {
    claim: async (id, c) => {
      await ready;
      try {
        await store.mysqlConnections.insert({ id, node, sessionId: c.sessionId, userId: c.userId, targetId: c.targetId, upstreamId: c.upstreamId });
        return true;
      } catch (err) {
        if (isPortcullisError(err) && err.code === 'conflict') return false;
        throw err;
      }
    },
    forget: (id) => store.mysqlConnections.remove(id),
    lookup: (id, userId, targetId) => withTimeout(lookup(store, node, id, userId, targetId, liveness), LOOKUP_TIMEOUT_MS),
  };
}

async function lookup(store: Store, self: string, id: number, userId: string, targetId: string, liveness?: OwnerLiveness): Promise<number | null> {
  const c = await store.mysqlConnections.byId(id);
  // An id of this node that is not bound here any more is stale, whatever the row says.
  if (!c || c.node === self || c.userId !== userId || c.targetId !== targetId) return null;
  const s = await store.sessions.byId(c.sessionId);
  if (!s || s.endedAt !== null || s.node !== c.node || s.userId !== userId || s.targetId !== targetId) return null;
  const n = await store.nodes.byName(c.node);
  if (n && n.state !== 'up') return null;
  if (n && liveness) {
    // The store's clock when it has one: heartbeats are written in it (membership.ts).
    const now = store.nodes.now ? await store.nodes.now() : liveness.clock.now();
    if (n.heartbeatAt < now - liveness.lostAfterMs) return null;
  }
  return c.upstreamId;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), ms); timer.unref(); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
