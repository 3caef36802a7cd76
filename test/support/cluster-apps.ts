// Several in-process Apps (nodes) on one SQLite store and one data dir (one master key, one audit
// key), with one fake clock: the unit ring's way to exercise the cluster logic without PostgreSQL.
// They share one Store object, as nodes share one database: its transactions are serialized like
// PostgreSQL's (the PostgreSQL store takes one advisory lock per transaction) and its
// notifications reach every node's bus (store/sqlite/local-notifications.ts). Each node has its
// own scheduler, live registry, bus, throttle, timers and webhook poster. `flaky` makes every
// store call fail at will (the database down); notifications keep flowing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, buildApp } from '../../gateway/app.js';
import { defaultConfig, type Config } from '../../gateway/config/config.js';
import { dataPaths } from '../../gateway/config/data-dir.js';
import { createLogger, type Logger } from '../../gateway/log/logger.js';
import type { LiveSessionHandle } from '../../gateway/session/live-sessions.js';
import type { TerminationReason } from '../../gateway/session/termination.js';
import type { GrantRecord, UserRecord } from '../../gateway/store/records.js';
import { openSqliteStore } from '../../gateway/store/sqlite/sqlite-store.js';
import type { Store } from '../../gateway/store/store.js';
import { PortcullisError } from '../../gateway/util/errors.js';
import { newId } from '../../gateway/util/ids.js';
import { createMasterKeyFile } from '../../gateway/vault/master-key.js';
import { FakeClock } from './fake-clock.js';

export interface Post { node: string; event: string; body: { event: string; data: Record<string, unknown> } }

export interface ClusterApps {
  nodes: App[];
  clock: FakeClock;
  dir: string;
  /** Every webhook POST of every node, in order. */
  posts: Post[];
  admin: UserRecord;
  /** While true, every store call of every node rejects as an unreachable PostgreSQL would. */
  storeDown: boolean;
  /**
   * Cuts one node off the store (a partition) or reconnects it: its store calls reject, its
   * notifications are neither sent nor delivered; the other nodes go on. SQLite only.
   */
  partition(node: string, cut: boolean): void;
  /** Lets pending bus deliveries (setImmediate) and the promises they start run. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export interface ClusterAppsOptions {
  config?: (c: Config) => void;
  log?: Logger;
  /** Start timers and join the cluster (default true); false: the test starts what it needs. */
  start?: boolean;
  /**
   * Each node opens its own store with this (a real PostgreSQL: its own pool and LISTEN
   * connection, as separate processes would); default: one shared SQLite store. `storeDown` then
   * does nothing.
   */
  openStore?: () => Promise<Store>;
}

export async function clusterApps(names: string[], opts: ClusterAppsOptions = {}): Promise<ClusterApps> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-cluster-'));
  createMasterKeyFile(dir);
  const clock = new FakeClock();
  const posts: Post[] = [];
  const state = { down: false, cut: new Set<string>() };
  const own: Store[] = [];
  for (const _ of names) if (opts.openStore) own.push(await opts.openStore());
  const real = opts.openStore ? null : openSqliteStore(dataPaths(dir).store);
  const nodes = names.map((node, i) => {
    const shared = real && failable(real, () => state.down || state.cut.has(node), () => state.cut.has(node));
    const config = defaultConfig(dir);
    config.node = node;
    config.webhooks = [{ url: 'http://hooks.invalid/portcullis', events: [] }];
    opts.config?.(config);
    return buildApp(config, {
      clock, env: {}, log: opts.log ?? createLogger('silent'), store: shared ?? own[i]!,
      poster: (_url, body) => {
        const b = JSON.parse(body) as Post['body'];
        posts.push({ node, event: b.event, body: b });
        return Promise.resolve(200);
      },
    });
  });
  const admin = await nodes[0]!.users.add('test', { name: 'admin', roles: ['admin'], kind: 'service' });
  if (opts.start !== false) {
    for (const app of nodes) {
      await app.timers.start();
      await app.cluster.start();
    }
  }
  // A real database answers over sockets: give it real time as well.
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    if (opts.openStore) await new Promise((r) => setTimeout(r, 40));
  };
  return {
    nodes, clock, dir, posts, admin, settle,
    partition: (node, cut) => { if (cut) state.cut.add(node); else state.cut.delete(node); },
    get storeDown() { return state.down; },
    set storeDown(v: boolean) { state.down = v; },
    close: async () => {
      state.down = false;
      for (const app of nodes) await app.close();
      await real?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The store, except that while `down()` every call rejects (close never closes: the harness does). */
function failable(inner: Store, down: () => boolean, deaf: () => boolean = () => false): Store {
  const refuse = (): Promise<never> => Promise.reject(new PortcullisError('unavailable', 'cannot reach the store at db.internal:5432: connection refused'));
  const repos = new Map<PropertyKey, unknown>();
  return new Proxy(inner, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop);
      if (prop === 'close') return () => Promise.resolve();
      if (prop === 'notifications') return deafened(inner.notifications, deaf, refuse);
      if (typeof v === 'function') return (...a: unknown[]) => (down() ? refuse() : (v as (...x: unknown[]) => unknown).apply(target, a));
      if (v === null || typeof v !== 'object') return v;
      if (!repos.has(prop)) {
        repos.set(prop, new Proxy(v, {
          get(t, p) {
            const f = (t as Record<PropertyKey, unknown>)[p];
            return typeof f === 'function' ? (...a: unknown[]) => (down() ? refuse() : (f as (...x: unknown[]) => unknown).apply(t, a)) : f;
          },
        }));
      }
      return repos.get(prop);
    },
  });
}

/** Notifications that, while `deaf()`, are neither sent nor delivered (the node is cut off). */
function deafened(inner: Store['notifications'], deaf: () => boolean, refuse: () => Promise<never>): Store['notifications'] {
  return {
    publish: (payload) => (deaf() ? refuse() : inner.publish(payload)),
    listen: (fn, onState) => inner.listen((p) => { if (!deaf()) fn(p); }, onState),
  };
}

/** A session as an adapter registers it, and its row in the store (as the pipeline's journal writes it). */
export interface FakeSession {
  id: string;
  closed: TerminationReason[];
  warnings: string[];
  /** Settles once the row's end is booked (close() books it without waiting, as the pipeline does). */
  ended: Promise<void>;
}

export async function liveSession(app: App, g: GrantRecord, user: string, target: string): Promise<FakeSession> {
  const id = newId('ses');
  const closed: TerminationReason[] = [];
  const warnings: string[] = [];
  let booked: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => { booked = resolve; });
  const now = app.clock.now();
  await app.store.sessions.insert({
    id, protocol: 'ssh', userId: g.userId, targetId: g.targetId, grantId: g.id, level: g.level, clientAddr: '127.0.0.1',
    startedAt: now, endedAt: null, endReason: null, recording: null, node: app.config.node,
  });
  const h: LiveSessionHandle = {
    id, protocol: 'ssh', user, target, grantId: g.id, clientAddr: '127.0.0.1', startedAt: now, expiresAt: g.expiresAt,
    warn: (m) => warnings.push(m),
    close: (r) => {
      closed.push(r);
      // As the pipeline books an end: the row, once.
      void app.store.sessions.end(id, app.clock.now(), r).catch(() => {}).finally(booked);
    },
  };
  app.live.register(h);
  return { id, closed, warnings, ended };
}
