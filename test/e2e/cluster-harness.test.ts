// The cluster harness's own check (test/harness/cluster.ts): three real nodes on one PostgreSQL
// store answer for the same cluster, HAProxy sends connections to live nodes only, and a node killed
// with -9 comes back on the same ports. The cluster behaviours themselves have their own e2e files.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from '../harness/cluster.js';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster({ haproxy: true });
});

afterAll(async () => {
  await c?.stop();
});

/** GET /healthz through the balancer, trusting only the cluster's CA. */
function health(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${c.lb!.url}/healthz`, { ca: readFileSync(c.caFile) }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('healthz timed out')));
    req.end();
  });
}

describe('the cluster harness', () => {
  it('starts three nodes on one store: a user added through n1 is listed by n2 and n3', () => {
    expect(c.nodes.map((n) => n.name)).toEqual(['n1', 'n2', 'n3']);
    expect(new Set(c.nodes.map((n) => n.ports.ssh)).size).toBe(3);
    const add = c.node('n1').admin(['user', 'add', 'alice', '--role', 'dba', '--password-stdin'], 'alice-Password-1\n');
    expect(add.stderr).toBe('');
    for (const n of ['n2', 'n3']) expect(c.node(n).admin(['user', 'list']).stdout).toContain('alice');
  });

  it('puts HAProxy in front with every node up, and the node listener certificates chain to the one cluster CA', async () => {
    const states = await c.lb!.states();
    expect(Object.values(states).every((s) => s === 'UP')).toBe(true);
    expect(Object.keys(states)).toHaveLength(12);
    // Round robin over three nodes: each answers with a certificate the cluster CA verifies.
    for (let i = 0; i < 3; i++) expect(await health()).toBe(200);
  });

  it('takes a node killed with -9 out of the balancer within a second or two, and back after restart on the same ports', async () => {
    const n2 = c.node('n2');
    const ports = { ...n2.ports };
    const t0 = Date.now();
    await n2.crash();
    expect(n2.alive()).toBe(false);
    await c.lb!.waitFor('n2', 'DOWN', 5000);
    expect(Date.now() - t0).toBeLessThan(3000);
    for (let i = 0; i < 3; i++) expect(await health()).toBe(200);
    await n2.restart();
    expect(n2.ports).toEqual(ports);
    await c.lb!.waitFor('n2', 'UP', 10_000);
  });

  it('steers new connections to chosen nodes with route(), and back to all', async () => {
    await c.lb!.route(['n3']);
    const states = await c.lb!.states();
    expect(states['ssh/n3']).toBe('UP');
    expect(states['ssh/n1']).toBe('MAINT');
    await c.lb!.route('all');
    expect(Object.values(await c.lb!.states()).every((s) => s === 'UP')).toBe(true);
  });
});
