// A node killed with -9 among real `portcullis serve` processes on one PostgreSQL store: another
// node marks it lost within 10 s (defaults: 1 s heartbeat, 6 s lost), ends its live sessions as
// node-lost (audited once), and the audit chain still verifies. Started again under the same name
// it joins as a new incarnation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from '../harness/cluster.js';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster({ nodes: 2 });
}, 120_000);

afterAll(async () => {
  await c?.stop();
}, 60_000);

const state = (name: string): string => c.store.sql(`SELECT state FROM nodes WHERE name='${name}'`).trim();

describe('a node lost', () => {
  it('is marked lost by the other node within 10 s of kill -9; its live sessions end as node-lost, once; audit verify passes', async () => {
    expect(state('n1')).toBe('up');
    expect(state('n2')).toBe('up');
    // A session live on n2 as the store sees it (what n2's pipeline writes when a session starts).
    const target = c.store.sql("SELECT id FROM targets LIMIT 1").trim();
    const t = target || (c.node('n1').admin(['target', 'add', 'web01', '--kind', 'ssh', '--host', '127.0.0.1', '--port', '22', '--account', 'root',
      '--host-key', 'SHA256:' + 'A'.repeat(43), '--password-stdin'], 'target-secret-1\n'), c.store.sql("SELECT id FROM targets WHERE name='web01'").trim());
    c.store.sql(`INSERT INTO sessions (id, protocol, user_id, target_id, grant_id, level, client_addr, started_at, ended_at, end_reason, recording, node)
      VALUES ('ses_lost1', 'ssh', NULL, '${t}', NULL, NULL, '127.0.0.1', ${Date.now()}, NULL, NULL, NULL, 'n2')`);
    await c.node('n2').crash();
    const t0 = Date.now();
    while (state('n2') !== 'lost' && Date.now() - t0 < 12_000) await new Promise((r) => setTimeout(r, 200));
    expect(state('n2')).toBe('lost');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(c.store.sql("SELECT end_reason FROM sessions WHERE id='ses_lost1'").trim()).toBe('node-lost');
    expect(c.store.sql("SELECT count(*) FROM audit WHERE code='node.lost'").trim()).toBe('1');
    expect(c.node('n1').admin(['audit', 'verify']).code).toBe(0);
  }, 60_000);

  it('joins again under the same name after it was lost', async () => {
    await c.node('n2').restart();
    expect(state('n2')).toBe('up');
    expect(c.node('n1').admin(['node', 'list']).stdout).toMatch(/n2\s+up/);
  }, 90_000);
});
