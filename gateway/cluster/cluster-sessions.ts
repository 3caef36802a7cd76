// Sessions of the whole cluster for the API: the live list (this node's registry plus the sessions
// the store says are live on other nodes) and killing a session that runs on another node (a
// `session.kill` on the bus to its owner, then waiting, bounded, until its record shows it ended).
// The owner closes it with killed-by-admin; the node that took the API call audits the kill.
// Does not decide who may kill (the route does) and never touches another node's sockets.
import type { LiveSessionInfo, LiveSessions } from '../session/live-sessions.js';
import type { SessionRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { PortcullisError } from '../util/errors.js';
import type { ClusterBus } from './bus.js';

/** How long an API kill waits for the owner node to end the session. */
export const REMOTE_KILL_WAIT_MS = 3_000;
const POLL_MS = 100;
const MAX_LISTED = 1000;

export type RemoteKill = { outcome: 'ended'; node: string } | { outcome: 'not-live' };

export class ClusterSessions {
  constructor(
    private readonly store: Pick<Store, 'sessions' | 'users' | 'targets' | 'grants'>,
    private readonly live: LiveSessions,
    private readonly bus: ClusterBus,
    private readonly node: string,
    private readonly waitMs = REMOTE_KILL_WAIT_MS,
  ) {}

  /** Live sessions of every node, this node's first. Without the store, this node's only. */
  async listLive(): Promise<LiveSessionInfo[]> {
    const local = this.live.list().map((s) => ({ ...s, node: this.node }));
    const seen = new Set(local.map((s) => s.id));
    const rows = await this.store.sessions.list({ live: true, limit: MAX_LISTED });
    const remote: LiveSessionInfo[] = [];
    for (const s of rows) {
      // Rows of this node that are not in the registry are still logging in, or orphans of a crash.
      if (seen.has(s.id) || s.node === this.node) continue;
      remote.push(await this.info(s));
    }
    return [...local, ...remote];
  }

  /**
   * Ends a session live on another node. Rejects with `unavailable` when the owner did not end it
   * within the wait (it may be dying: the sweeper then ends it as node-lost).
   */
  async kill(id: string, actor: string): Promise<RemoteKill> {
    const s = await this.store.sessions.byId(id);
    if (!s || s.endedAt !== null || s.node === null || s.node === this.node) return { outcome: 'not-live' };
    await this.bus.publish({ t: 'session.kill', session: id, reason: 'killed-by-admin', actor });
    // Wall time on purpose: this waits for another process and decides nothing.
    const until = Date.now() + this.waitMs;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const cur = await this.store.sessions.byId(id);
      if (!cur || cur.endedAt !== null) return { outcome: 'ended', node: s.node };
    }
    throw new PortcullisError('unavailable', `session ${id} runs on node ${s.node}, which did not end it within ${this.waitMs / 1000} s; if that node is down its sessions end by themselves shortly (node-lost)`);
  }

  private async info(s: SessionRecord): Promise<LiveSessionInfo> {
    const user = s.userId === null ? null : (await this.store.users.byId(s.userId))?.name ?? s.userId;
    const target = (await this.store.targets.byId(s.targetId))?.name ?? s.targetId;
    const grant = s.grantId === null ? undefined : await this.store.grants.byId(s.grantId);
    return {
      id: s.id, protocol: s.protocol, user: user ?? '', target, grant: s.grantId, client_addr: s.clientAddr,
      started_at: new Date(s.startedAt).toISOString(), expires_at: grant ? new Date(grant.expiresAt).toISOString() : '',
      level: s.level, node: s.node,
    };
  }
}
