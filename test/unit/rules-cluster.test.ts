// Rule changes across nodes: two Apps on one store whose notifications reach both buses as NOTIFY
// would, with no periodic reload running (serve arms that; these Apps do not), so what reaches the
// other node here came over the bus. A change answers after the local book has it; the other node
// reads the store again on `rules.changed` (the message carries nothing to trust or forge).
import { afterEach, describe, expect, it } from 'vitest';
import { type ClusterApps, clusterApps } from '../support/cluster-apps.js';

let c: ClusterApps;
afterEach(async () => { await c.close(); });

describe('rules across nodes', () => {
  it('a rule added or removed on one node reaches the other node\'s rule book over the bus', async () => {
    c = await clusterApps(['n1', 'n2']);
    const [a, b] = [c.nodes[0]!, c.nodes[1]!];
    await a.rules.reload();
    await b.rules.reload();
    const added = await a.rules.add('admin', { name: 'no-drop', kind: 'sql', class: 'drop', action: 'deny' });
    expect(added.warnings).toEqual(['this is the first sql rule: sessions already running relay without checks and are checked from their next connection']);
    // The adding node enforces before it answers.
    expect(a.rules.book.current.rules.map((r) => r.name)).toEqual(['no-drop']);
    await c.settle();
    expect(b.rules.book.current.rules.map((r) => r.name)).toEqual(['no-drop']);
    const second = await b.rules.add('admin', { name: 'watch', kind: 'sql', match: 'secrets', action: 'flag' });
    expect(second.warnings).toEqual([]);
    await c.settle();
    expect(a.rules.book.current.rules.map((r) => r.name)).toEqual(['no-drop', 'watch']);
    await b.rules.remove('admin', 'no-drop');
    await c.settle();
    expect(a.rules.book.current.rules.map((r) => r.name)).toEqual(['watch']);
    expect(b.rules.book.current.rules.map((r) => r.name)).toEqual(['watch']);
  });

  it('a rule written to the store behind the service reaches a node only on its next reload (the periodic safety net)', async () => {
    c = await clusterApps(['n1', 'n2']);
    const b = c.nodes[1]!;
    await b.rules.reload();
    await b.store.rules.insert({
      id: 'rul_direct', name: 'direct', kind: 'command', class: null, match: 'rm', action: 'deny', targets: [], roles: [], levels: [],
      message: null, unparsable: 'deny', createdAt: 1, createdBy: 'db',
    });
    await c.settle();
    expect(b.rules.book.current.rules).toEqual([]);
    await b.rules.reload();
    expect(b.rules.book.current.rules.map((r) => r.name)).toEqual(['direct']);
  });

  it('audits each change once, on the node that made it', async () => {
    c = await clusterApps(['n1', 'n2']);
    const a = c.nodes[0]!;
    await a.rules.add('admin', { name: 'no-kill', kind: 'sql', class: 'function:pg_terminate_backend', action: 'deny', message: 'ask a DBA' });
    await a.rules.remove('admin', 'no-kill');
    await c.settle();
    const codes = (await a.audit.page(0, 1000)).map((e) => e.code).filter((x) => x.startsWith('rule.'));
    expect(codes).toEqual(['rule.added', 'rule.removed']);
    await expect(a.rules.remove('admin', 'no-kill')).rejects.toMatchObject({ code: 'not-found' });
  });
});
