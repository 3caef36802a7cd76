// The cluster's nodes as the API shows them (`GET /api/v1/nodes`, `portcullis node list`): every
// node that ever joined the store, its state, the version it runs (a rolling upgrade shows here)
// and how long ago it last beat. Read from the store, so any node answers for the whole cluster.
// It does not register or sweep nodes (membership and the lost-node sweeper do).
import type { NodeView } from '../api-types.js';
import type { NodeRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';

export class NodeDirectory {
  constructor(private readonly store: Store, private readonly clock: Clock, private readonly self: string) {}

  async list(): Promise<NodeView[]> {
    const now = this.clock.now();
    return (await this.store.nodes.list()).map((n) => this.view(n, now));
  }

  private view(n: NodeRecord, now: number): NodeView {
    return {
      name: n.name, state: n.state, version: n.version,
      started_at: new Date(n.startedAt).toISOString(), last_heartbeat: new Date(n.heartbeatAt).toISOString(),
      heartbeat_age_s: Math.max(0, Math.round((now - n.heartbeatAt) / 100) / 10),
      ended_at: n.endedAt === null ? null : new Date(n.endedAt).toISOString(),
      self: n.name === this.self,
    };
  }
}
