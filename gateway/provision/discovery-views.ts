// Outward shapes of discovery (API, CLI --json, web console): target by name, snake_case, ISO times.
// Nothing here can carry a secret: findings hold account names and privilege words only.
import type { DiscoveryFindingView } from '../api-types.js';
import type { DiscoveryFindingRecord, TargetRecord } from '../store/records.js';
import type { DiscoveredAccount, DiscoveryRun } from './discovery.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** A stored finding (GET /api/v1/discovery). */
export function findingView(target: TargetRecord, f: DiscoveryFindingRecord): DiscoveryFindingView {
  return {
    target: target.name, account: f.account, privileges: f.privileges, managed: f.managed, managed_as: f.managedAs,
    first_seen_at: iso(f.firstSeenAt), last_seen_at: iso(f.lastSeenAt), gone_at: f.goneAt === null ? null : iso(f.goneAt),
  };
}

/** One account of a run just made (POST /api/v1/targets/:name/discover), unmanaged first. */
export function discoveredView(run: DiscoveryRun, a: DiscoveredAccount): DiscoveryFindingView {
  return {
    target: run.target.name, account: a.account, privileges: a.privileges, managed: a.managed, managed_as: a.managedAs,
    first_seen_at: iso(a.firstSeenAt), last_seen_at: iso(a.lastSeenAt), gone_at: null, new: a.new,
  };
}
