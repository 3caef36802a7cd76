// The cluster's nodes (admins): who is up, left or lost, on which version, last heartbeat.
import type { NodeView } from '../../api-types.js';
import { type Route, route } from '../router.js';

export const clusterRoutes: Route[] = [
  route('GET', '/api/v1/nodes', ['admin'], (c): Promise<NodeView[]> => c.services.nodeDirectory.list()),
];
