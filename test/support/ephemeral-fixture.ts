// An in-process app with an ephemeral PostgreSQL-kind target whose provisioner is the fake
// (fake-provisioner.ts), a user, and grants at a level: the set-up of the ephemeral unit tests.
import { Writable } from 'node:stream';
import type { Config } from '../../gateway/config/config.js';
import { createLogger } from '../../gateway/log/logger.js';
import type { GrantRecord, TargetRecord, UserRecord } from '../../gateway/store/records.js';
import { FakeProvisioner } from './fake-provisioner.js';
import { testApp, type TestApp } from './test-app.js';

export interface EphemeralFixture {
  t: TestApp;
  fake: FakeProvisioner;
  target: TargetRecord;
  alice: UserRecord;
  /** Every log line written, to scan for secrets. */
  logs: string[];
  grant(opts?: { level?: string; ms?: number; user?: UserRecord }): Promise<GrantRecord>;
  close(): Promise<void>;
}

export async function ephemeralFixture(opts: { start?: boolean; port?: number; config?: (c: Config) => void } = {}): Promise<EphemeralFixture> {
  const logs: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { logs.push(chunk.toString()); cb(); } });
  let app: TestApp | null = null;
  const fake = new FakeProvisioner(() => app!.app.store);
  const t = await testApp({ adminLogins: { postgres: fake.login }, log: createLogger('debug', sink), ...(opts.config ? { config: opts.config } : {}) });
  app = t;
  // Through the service: credential mode, levels and reassign-to are bound to the vaulted credential
  // (target-binding.ts), so writing them into the record afterwards would leave it unopenable.
  const target: TargetRecord = await t.app.targets.add('admin', {
    name: 'db1', kind: 'postgres', host: '127.0.0.1', port: opts.port ?? 5432, account: 'provisioner', password: 'provisioner-secret-1',
    credentialMode: 'ephemeral', ephemeralReassignTo: 'pc_owner',
    levels: [{ name: 'read', grants: ['pc_read'] }, { name: 'write', grants: ['pc_read', 'pc_write'] }],
  });
  const alice = await t.user('alice', ['dev']);
  if (opts.start !== false) await t.app.ephemeral.start();
  return {
    t, fake, target, alice, logs,
    grant: async (g = {}) => {
      const rec = await t.app.store.transaction(() => t.app.grants.createInTx('admin', {
        userId: (g.user ?? alice).id, targetId: target.id, durationMs: g.ms ?? 60_000, reason: 'test', ticket: null, source: 'admin', level: g.level ?? 'read',
      }));
      await t.app.grants.publishCreated(rec);
      return rec;
    },
    close: () => t.close(),
  };
}

/** Waits (real time, bounded) until `check` holds: event-driven work runs on promises after the trigger. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
