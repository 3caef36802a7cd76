// Attacks on the cluster bus by someone who can NOTIFY and LISTEN on the store's database (any role
// with CONNECT) but does not hold the master key: forged cuts, forged failed logins that would lock
// a user or an address out of every node, replays of real messages, floods. Two Apps on one SQLite
// file, whose notifications reach both buses as NOTIFY would.
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../gateway/app.js';
import { BUS_WINDOW_MS, BusSeal, deriveBusKey } from '../../gateway/cluster/bus-seal.js';
import { createLogger } from '../../gateway/log/logger.js';
import { type ClusterApps, clusterApps, liveSession } from '../support/cluster-apps.js';
import { addSshTarget } from '../support/test-app.js';

const MIN = 60_000;
let c: ClusterApps;
let lines: string[] = [];

afterEach(async () => { await c.close(); });

async function setup(): Promise<{ a: App; b: App }> {
  lines = [];
  c = await clusterApps(['n1', 'n2'], { log: createLogger('info', { write: (s: string) => { lines.push(s); } }) });
  const a = c.nodes[0]!;
  await addSshTarget(a, 'web01');
  await a.users.add('admin', { name: 'ops', roles: ['ops'], password: 'ops-password-1' });
  return { a, b: c.nodes[1]! };
}

const grant = (a: App): ReturnType<App['grants']['adminGrant']> => a.grants.adminGrant(c.admin, 'ops', 'web01', 60 * MIN, 'work', null);
const notify = (app: App, payload: string): Promise<void> => app.store.notifications.publish(payload);
const login = (app: App, password: string, addr = '192.0.2.8'): Promise<unknown> =>
  app.authn.login({ user: 'ops', password, addr, method: 'ssh-password' });

/** Every payload that goes over the store's notifications from now on, as a listener on the database sees them. */
async function wiretap(app: App): Promise<string[]> {
  const seen: string[] = [];
  await app.store.notifications.listen((p) => seen.push(p));
  return seen;
}

describe('the cluster bus against a database role without the master key', () => {
  it('unsigned cuts (session.kill, user.ended, grant.revoked, target.ended with valid reasons) cut nothing', async () => {
    const { a, b } = await setup();
    const g = await grant(a);
    const s = await liveSession(b, g, 'ops', 'web01');
    for (const m of [
      { t: 'session.kill', session: s.id, reason: 'killed-by-admin', actor: 'admin' },
      { t: 'user.ended', user: 'ops', reason: 'user-disabled' },
      { t: 'grant.revoked', grant: g.id, reason: 'grant-revoked' },
      { t: 'target.ended', target: 'web01', reason: 'target-changed' },
    ]) await notify(a, JSON.stringify({ from: 'n1', m }));
    await c.settle();
    expect(s.closed).toEqual([]);
    expect(b.live.get(s.id)).toBeDefined();
  });

  it('a message signed under another cluster\'s key is dropped', async () => {
    const { a, b } = await setup();
    const g = await grant(a);
    const s = await liveSession(b, g, 'ops', 'web01');
    const other = new BusSeal(deriveBusKey(Buffer.alloc(32, 7)), c.clock);
    await notify(a, other.seal('n1', JSON.stringify({ t: 'user.ended', user: 'ops', reason: 'user-disabled' })));
    await c.settle();
    expect(s.closed).toEqual([]);
  });

  it('forged failed logins lock neither the user nor an address out of any node', async () => {
    const { a, b } = await setup();
    for (let i = 0; i < 200; i++) await notify(a, JSON.stringify({ from: 'n1', m: { t: 'login.failed', user: 'ops', addr: '192.0.2.8' } }));
    await c.settle();
    await expect(login(b, 'ops-password-1')).resolves.toMatchObject({ name: 'ops' });
    await expect(login(a, 'ops-password-1')).resolves.toMatchObject({ name: 'ops' });
  });

  it('a recorded real message sent again is dropped (nonce), and so is one older than the window', async () => {
    const { a, b } = await setup();
    const tap = await wiretap(a);
    // Four real failures on A: one short of the pair lock (5), counted on B too.
    for (let i = 0; i < 4; i++) {
      await expect(login(a, 'wrong-password')).rejects.toMatchObject({ code: 'invalid-credentials' });
      await c.settle();
    }
    const recorded = tap.filter((p) => p.includes('"login.failed')).slice(0, 1);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).not.toContain('wrong-password');
    // Replayed ten times now: B counts none of them (else B would lock the pair).
    for (let i = 0; i < 10; i++) await notify(a, recorded[0]!);
    await c.settle();
    await expect(login(b, 'ops-password-1')).resolves.toMatchObject({ name: 'ops' });
    // And a real cut recorded, replayed after the window: dropped as stale.
    const g = await grant(a);
    const s1 = await liveSession(b, g, 'ops', 'web01');
    await a.grants.revoke(c.admin, g.id, 'done');
    await c.settle();
    expect(s1.closed).toEqual(['grant-revoked']);
    const cut = tap.find((p) => p.includes('grant.revoked'))!;
    c.clock.advance(BUS_WINDOW_MS + 1_000);
    const g2 = await grant(a);
    const s2 = await liveSession(b, g2, 'ops', 'web01');
    await notify(a, cut.replace(g.id, g2.id));
    await notify(a, cut);
    await c.settle();
    expect(s2.closed).toEqual([]);
  });

  it('a flood of forged or oversized payloads cuts nothing and writes a bounded number of log lines', async () => {
    const { a, b } = await setup();
    const g = await grant(a);
    const s = await liveSession(b, g, 'ops', 'web01');
    lines.length = 0;
    const junk = ['not json', '{"from":', JSON.stringify({ from: 'x', at: 1, n: 'a', body: '{}', mac: 'AAAA' }), 'x'.repeat(6900)];
    for (let i = 0; i < 2_000; i++) await notify(a, junk[i % junk.length]!);
    await c.settle();
    const drops = (): string[] => lines.filter((l) => l.includes('cluster.message_dropped'));
    // One line per 10 s per node, not one per message; the next one says how many went unlogged.
    expect(drops()).toHaveLength(2);
    c.clock.advance(11_000);
    await notify(a, 'not json');
    await c.settle();
    expect(drops()).toHaveLength(4);
    expect(drops()[3]).toMatch(/and 1999 more dropped/);
    expect(s.closed).toEqual([]);
    // The real traffic still flows.
    await a.grants.revoke(c.admin, g.id, 'done');
    await c.settle();
    expect(s.closed).toEqual(['grant-revoked']);
  });
});
