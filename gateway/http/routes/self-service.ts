// Self-service for the signed-in user: the catalog of what they may request, "My access" (their
// active grants with the line to connect, their pending requests with who must approve, their
// recent sessions) and giving a grant back. Every answer is about the caller only: no route here
// takes a user name, and a grant id of someone else is answered as unknown (give-back.ts).
// Requests themselves go through POST /api/v1/requests (workflow.ts), which decides.
import { giveBack } from '../../access/give-back.js';
import { isPrivileged } from '../../access/grants.js';
import { catalogFor, type ConnectAddresses, connectLine } from '../../access/self-service-views.js';
import type { CatalogEntryView, MyAccessView, MyGrantView, MyPendingRequestView, SessionView } from '../../api-types.js';
import type { UserRecord } from '../../store/records.js';
import { type Route, type RouteContext, route } from '../router.js';
import { me } from './identity.js';

/** Recent sessions shown on "My access". */
const RECENT_SESSIONS = 20;
/** Approver names shown per pending request: enough to know whom to ask, not a directory. */
const APPROVER_NAMES = 5;

export const selfServiceRoutes: Route[] = [
  route('GET', '/api/v1/catalog', 'any', async (c): Promise<CatalogEntryView[]> => {
    const [targets, policies] = await Promise.all([c.services.targets.list(), c.services.policies.list()]);
    return catalogFor(me(c), targets, policies, c.services.clock.now());
  }),
  route('GET', '/api/v1/me/access', 'any', async (c): Promise<MyAccessView> => {
    const u = me(c);
    const now = c.services.clock.now();
    const [grants, pending, sessions] = await Promise.all([myGrants(c, u, now), myPending(c, u), mySessions(c, u)]);
    return { user: u.name, now: new Date(now).toISOString(), grants, pending, sessions };
  }),
  route('POST', '/api/v1/grants/:id/give-back', 'any', async (c) =>
    c.services.grants.view(await giveBack(c.services.grants, me(c), c.params.id!, c.services.clock.now()))),
];

async function myGrants(c: RouteContext, u: UserRecord, now: number): Promise<MyGrantView[]> {
  const list = await c.services.grants.list({ userId: u.id, active: true });
  const [targets, policies] = await Promise.all([c.services.targets.list(), c.services.policies.list()]);
  const at = addresses(c);
  const out: MyGrantView[] = [];
  for (const g of list.sort((a, b) => a.expiresAt - b.expiresAt)) {
    const target = targets.find((t) => t.id === g.targetId);
    if (!target) continue;
    const policy = g.policyId ? policies.find((p) => p.id === g.policyId) : undefined;
    out.push({
      ...(await c.services.grants.view(g)), kind: target.kind, seconds_left: Math.max(0, Math.floor((g.expiresAt - now) / 1000)),
      connect: connectLine(u, target, g.level, at),
      extend: { approver_roles: ['admin', ...(policy?.approverRoles ?? [])], max_s: policy ? policy.maxDurationMs / 1000 : null },
    });
  }
  return out;
}

async function myPending(c: RouteContext, u: UserRecord): Promise<MyPendingRequestView[]> {
  const list = await c.services.requests.list({ pending: true, userId: u.id });
  if (list.length === 0) return [];
  const [policies, users] = await Promise.all([c.services.policies.list(), c.services.users.list()]);
  return Promise.all(list.map(async (r) => {
    const p = policies.find((x) => x.id === r.policyId);
    const roles = p?.approverRoles ?? [];
    // The same test approve() applies (an admin or one of the roles), never the requester, nobody disabled.
    const names = users.filter((x) => x.id !== u.id && !x.disabled && x.kind === 'human' && isPrivileged(x, roles)).map((x) => x.name);
    const view = await c.services.requests.view(r);
    return { ...view, approvers: { roles, needed: Math.max(0, (p?.approvalsRequired ?? 0) - view.approvals.length), names: names.slice(0, APPROVER_NAMES) } };
  }));
}

/**
 * Without risk scores and flags: those are for investigators (GET /api/v1/sessions); shown to the
 * user they would say which of their commands a silent "flag" rule or a risk detector caught.
 */
async function mySessions(c: RouteContext, u: UserRecord): Promise<SessionView[]> {
  return (await c.services.sessions.list({ user: u.name, limit: RECENT_SESSIONS })).map((s) => ({ ...s, risk_score: 0, flags: [] }));
}

/** The public URL's host when one is configured (what users reach), else the listeners' address. */
function addresses(c: RouteContext): ConnectAddresses {
  const a = c.services.addresses;
  let host = a.sshHost;
  const pub = c.services.config.publicUrl;
  if (pub) {
    try {
      host = new URL(pub).hostname.replace(/^\[(.*)\]$/, '$1');
    } catch { /* config checks the URL; keep the listener's host */ }
  }
  return { host, sshPort: a.sshPort, pgPort: a.pgPort, mysqlPort: a.mysqlPort };
}
