// Discovery of privileged accounts: run it on a target now, or read what the runs found. Admins
// only: the answers name accounts on production systems and say which ones nobody manages.
import type { DiscoveryFindingView } from '../../api-types.js';
import { discoveredView, findingView } from '../../provision/discovery-views.js';
import { type Route, route } from '../router.js';
import { me } from './identity.js';

export const discoveryRoutes: Route[] = [
  // Logs in to the target as its vaulted account and lists the accounts with privilege (audited).
  route('POST', '/api/v1/targets/:name/discover', ['admin'], async (c): Promise<DiscoveryFindingView[]> => {
    const run = await c.services.discovery.discover(me(c).name, c.params.name!);
    return run.accounts.map((a) => discoveredView(run, a));
  }),
  // What earlier runs found, gone accounts included (gone_at set); ?target=NAME narrows to one target.
  route('GET', '/api/v1/discovery', ['admin'], async (c): Promise<DiscoveryFindingView[]> => {
    const target = c.query.get('target') ?? undefined;
    return (await c.services.discovery.findings(target || undefined)).map((r) => findingView(r.target, r.finding));
  }),
];
