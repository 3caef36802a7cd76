// Several nodes acting as one (issue 16): two or three Apps on one SQLite store, one fake clock,
// their buses connected through the store's notifications. A revoke, an extension or a kill on one
// node reaches the session on another; a silent node is found lost once; timer work and webhooks
// happen once per cluster; failed logins count on every node; a store outage refuses new work
// clearly and cuts nothing early.
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../gateway/app.js';
import type { GrantRecord, UserRecord } from '../../gateway/store/records.js';
import { STORE_UNREACHABLE } from '../../gateway/store/unreachable.js';
import { PortcullisError } from '../../gateway/util/errors.js';
import { type ClusterApps, clusterApps, liveSession } from '../support/cluster-apps.js';
import { addSshTarget } from '../support/test-app.js';

const MIN = 60_000;
let c: ClusterApps;

afterEach(async () => { await c.close(); });

async function setup(names: string[], opts: Parameters<typeof clusterApps>[1] = {}): Promise<{ a: App; b: App; ops: UserRecord; grant: (minutes?: number) => Promise<GrantRecord> }> {
  c = await clusterApps(names, opts);
  const a = c.nodes[0]!;
  await addSshTarget(a, 'web01');
  const ops = await a.users.add('admin', { name: 'ops', roles: ['ops'], password: 'ops-password-1' });
  return { a, b: c.nodes[1]!, ops, grant: (minutes = 60) => a.grants.adminGrant(c.admin, 'ops', 'web01', minutes * MIN, 'work', null) };
}

/** Moves the shared clock in heartbeat-sized steps, letting each step's async work finish. */
async function run(ms: number, step = 1000): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    c.clock.advance(Math.min(step, ms - t));
    await c.settle();
  }
}

const audits = async (app: App, code: string): Promise<Array<Record<string, unknown>>> =>
  (await app.audit.page(0, 10_000)).filter((e) => e.code === code).map((e) => e.data as Record<string, unknown>);
const posted = (event: string): string[] => c.posts.filter((p) => p.event === event).map((p) => p.node);
const forge = (app: App, payload: string): Promise<void> => app.store.notifications.publish(payload);

describe('session control across nodes', () => {
  it('a revoke on node A cuts a session on node B within the bus delivery, audited and alerted once, by A', async () => {
    const { a, b, grant } = await setup(['n1', 'n2']);
    const g = await grant();
    const s = await liveSession(b, g, 'ops', 'web01');
    await a.grants.revoke(c.admin, g.id, 'incident over');
    await c.settle();
    expect(s.closed).toEqual(['grant-revoked']);
    expect(b.live.get(s.id)).toBeUndefined();
    expect(await audits(a, 'grant.revoked')).toHaveLength(1);
    expect(posted('grant.revoked')).toEqual(['n1']);
  });

  it('disabling a user or re-pointing a target on A ends their sessions on B with their own reasons', async () => {
    const { a, b, grant } = await setup(['n1', 'n2']);
    const s1 = await liveSession(b, await grant(), 'ops', 'web01');
    await a.users.setDisabled('admin', 'ops', true);
    await c.settle();
    expect(s1.closed[0]).toBe('user-disabled');
    await a.users.setDisabled('admin', 'ops', false);
    const s2 = await liveSession(b, await grant(), 'ops', 'web01');
    await a.targets.update('admin', 'web01', { host: '127.0.0.2', password: 'target-secret-1' });
    await c.settle();
    expect(s2.closed[0]).toBe('target-changed');
  });

  it('an extension on A re-arms the session on B; a forged later deadline or an unknown reason changes nothing', async () => {
    const { a, b, grant } = await setup(['n1', 'n2'], { config: (cf) => { cf.expiry.warnBefore = '30s'; } });
    const g = await grant(2);
    const s = await liveSession(b, g, 'ops', 'web01');
    await a.grants.extend(c.admin, g.id, 2 * MIN);
    await c.settle();
    expect(b.live.get(s.id)!.expiresAt).toBe(g.expiresAt + 2 * MIN);
    // Someone who can NOTIFY on the database: a deadline a year away, a made-up reason, garbage.
    await forge(a, JSON.stringify({ from: 'evil', m: { t: 'grant.deadline', grant: g.id, expiresAt: g.expiresAt + 365 * 24 * 60 * MIN } }));
    await forge(a, JSON.stringify({ from: 'evil', m: { t: 'grant.revoked', grant: g.id, reason: 'rm -rf' } }));
    await forge(a, '{"from":"evil","m":{"t":"session.kill","session":1}}');
    await forge(a, 'not json at all');
    await c.settle();
    expect(b.live.get(s.id)!.expiresAt).toBe(g.expiresAt + 2 * MIN);
    expect(s.closed).toEqual([]);
    await run(3 * MIN + 55_000);
    expect(s.closed).toEqual([]);
    expect(s.warnings).toHaveLength(1);
    await run(6_000);
    expect(s.closed).toEqual(['grant-expired']);
  });

  it('a message missed while the bus was down is caught by the resync: the store says revoked, the session ends', async () => {
    const { b, grant } = await setup(['n1', 'n2']);
    const g = await grant();
    const s = await liveSession(b, g, 'ops', 'web01');
    // Revoked in the store with no message on the bus (as if the NOTIFY was lost).
    await b.store.grants.update({ ...g, revokedAt: c.clock.now(), revokedBy: null, revokeReason: 'lost message' });
    await b.cluster.relay.resync();
    expect(s.closed).toEqual(['grant-revoked']);
  });

  it('an admin kill through A ends a session live on B (B closes it killed-by-admin), and A lists it with its node', async () => {
    const { a, b, grant } = await setup(['n1', 'n2']);
    const g = await grant();
    const s = await liveSession(b, g, 'ops', 'web01');
    const listed = await a.cluster.sessions.listLive();
    expect(listed).toEqual([expect.objectContaining({ id: s.id, node: 'n2', user: 'ops', target: 'web01', expires_at: new Date(g.expiresAt).toISOString() })]);
    expect(await a.cluster.sessions.kill(s.id, 'admin')).toEqual({ outcome: 'ended', node: 'n2' });
    expect(s.closed).toEqual(['killed-by-admin']);
    expect((await a.store.sessions.byId(s.id))!.endReason).toBe('killed-by-admin');
    expect(await a.cluster.sessions.kill(s.id, 'admin')).toEqual({ outcome: 'not-live' });
    expect(await a.cluster.sessions.kill('ses_nope', 'admin')).toEqual({ outcome: 'not-live' });
  });
});

describe('membership and lost nodes', () => {
  it('a second node with a live name is refused with a clear error; a clean leave frees the name at once', async () => {
    await setup(['n1', 'n2']);
    const twin = clusterAppsTwin('n2');
    await expect(twin).rejects.toThrow(/^node n2 is already running \(last heartbeat 0s ago\); pick another --node name or stop it$/);
    await c.nodes[1]!.cluster.stop();
    expect((await c.nodes[0]!.store.nodes.byName('n2'))!.state).toBe('left');
  });

  it('a silent node is marked lost by exactly one of two racing sweepers, which ends its sessions as node-lost, audits and alerts once', async () => {
    const { a, b, grant } = await setup(['n1', 'n2', 'n3']);
    const n3 = c.nodes[2]!;
    const g = await grant();
    const s1 = await liveSession(b, g, 'ops', 'web01');
    const s2 = await liveSession(b, g, 'ops', 'web01');
    const other = await liveSession(n3, g, 'ops', 'web01');
    // n2 dies: its timers (heartbeat included) stop; its registry stays as it was.
    b.scheduler.stop();
    await run(6_000);
    expect((await a.store.nodes.byName('n2'))!.state).toBe('up');
    c.clock.advance(1_000);
    const [x, y] = await Promise.all([a.cluster.sweeper.sweep(), n3.cluster.sweeper.sweep()]);
    await c.settle();
    expect([...x, ...y]).toEqual([{ node: 'n2', sessions: expect.arrayContaining([s1.id, s2.id]) as string[] }]);
    expect((await a.store.nodes.byName('n2'))!.state).toBe('lost');
    for (const id of [s1.id, s2.id]) expect((await a.store.sessions.byId(id))!.endReason).toBe('node-lost');
    expect((await a.store.sessions.byId(other.id))!.endedAt).toBeNull();
    expect((await audits(a, 'session.ended')).map((e) => e.session).sort()).toEqual([s1.id, s2.id].sort());
    expect(await audits(a, 'node.lost')).toEqual([expect.objectContaining({ node: 'n2', sessions: 2 })]);
    expect(posted('node.lost')).toHaveLength(1);
    await run(5_000);
    expect(await audits(a, 'node.lost')).toHaveLength(1);
    // n2 comes back: its heartbeat is refused, it cuts what it still runs (node-lost) and joins anew.
    const before = b.cluster.membership.incarnation;
    await b.cluster.membership.beat();
    expect(s1.closed).toEqual(['node-lost']);
    expect(s2.closed).toEqual(['node-lost']);
    expect(b.cluster.membership.incarnation).not.toBe(before);
    expect((await a.store.nodes.byName('n2'))!.state).toBe('up');
    expect(await audits(a, 'session.ended')).toHaveLength(2);
    expect(other.closed).toEqual([]);
  });
});

describe('once per cluster', () => {
  it('grant expiry armed on three nodes sends one grant.expiring and one grant.expired webhook and audit entry', async () => {
    const { a, grant } = await setup(['n1', 'n2', 'n3'], { start: false, config: (cf) => { cf.expiry.warnBefore = '1m'; } });
    const g = await grant(3);
    for (const app of c.nodes) {
      await app.timers.start();
      await app.cluster.start();
    }
    await run(3 * MIN + 2_000);
    expect(posted('grant.expiring')).toHaveLength(1);
    expect(posted('grant.expired')).toHaveLength(1);
    expect(await audits(a, 'grant.expired')).toEqual([{ grant: g.id }]);
  });

  it('failed logins spread over two nodes lock the pair on both', async () => {
    const { a, b } = await setup(['n1', 'n2']);
    const attempt = (app: App, password: string): Promise<unknown> => app.authn.login({ user: 'ops', password, addr: '192.0.2.7', method: 'ssh-password' });
    for (const app of [a, b, a, b, a]) {
      await expect(attempt(app, 'wrong-password')).rejects.toMatchObject({ code: 'invalid-credentials' });
      await c.settle();
    }
    await expect(attempt(a, 'ops-password-1')).rejects.toMatchObject({ code: 'locked' });
    await expect(attempt(b, 'ops-password-1')).rejects.toMatchObject({ code: 'locked' });
  });
});

describe('the store down mid-run', () => {
  it('refuses new logins in clear words, cuts live sessions at their known deadline, marks nobody lost, and recovers by itself', async () => {
    const { a, b, grant } = await setup(['n1', 'n2']);
    const s = await liveSession(b, await grant(2), 'ops', 'web01');
    c.storeDown = true;
    const refused = await a.authn.login({ user: 'ops', password: 'ops-password-1', addr: '192.0.2.8', method: 'ssh-password' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PortcullisError);
    expect(refused).toMatchObject({ code: 'store-unavailable', message: STORE_UNREACHABLE });
    // The message never names the database's address.
    expect(String((refused as Error).message)).not.toMatch(/db\.internal|5432/);
    await run(MIN);
    expect(s.closed).toEqual([]);
    await run(MIN + 1_000);
    expect(s.closed).toEqual(['grant-expired']);
    c.storeDown = false;
    await run(2_000);
    expect((await a.store.nodes.list()).map((n) => n.state)).toEqual(['up', 'up']);
    await expect(a.authn.login({ user: 'ops', password: 'ops-password-1', addr: '192.0.2.8', method: 'ssh-password' })).resolves.toMatchObject({ name: 'ops' });
  });
});

/** Another App named like a running node, on the same store: its start must be refused. */
async function clusterAppsTwin(name: string): Promise<void> {
  const { buildApp } = await import('../../gateway/app.js');
  const { defaultConfig } = await import('../../gateway/config/config.js');
  const { createLogger } = await import('../../gateway/log/logger.js');
  const config = defaultConfig(c.dir);
  config.node = name;
  const twin = buildApp(config, { clock: c.clock, env: {}, log: createLogger('silent'), store: c.nodes[0]!.store });
  try {
    await twin.cluster.start();
  } finally {
    await twin.cluster.stop();
    twin.scheduler.stop();
  }
}
