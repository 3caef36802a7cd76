// Two gateway nodes in one process on ONE SQLite file (their store notifications reach each other:
// store/sqlite/local-notifications.ts), the real clock, one shared recordings directory and the
// same master key: the unit ring's way to drive protocol paths that cross nodes with real clients
// and real servers, without PostgreSQL as the store. Each node's buses are started; listeners are
// built from the protocol registry on free loopback ports when asked for.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, buildApp } from '../../gateway/app.js';
import { PROTOCOLS } from '../../gateway/compose/protocols.js';
import { defaultConfig } from '../../gateway/config/config.js';
import { dataPaths } from '../../gateway/config/data-dir.js';
import { createLogger, type Logger } from '../../gateway/log/logger.js';
import type { Listener } from '../../gateway/net/listener.js';
import { openSqliteStore } from '../../gateway/store/sqlite/sqlite-store.js';
import type { TargetKind, UserRecord } from '../../gateway/store/records.js';
import { systemClock } from '../../gateway/util/clock.js';
import { createMasterKeyFile, masterKeyPath } from '../../gateway/vault/master-key.js';
import { testTls } from '../harness/test-ca.js';

export interface TestNode {
  name: string;
  app: App;
  /** Starts this node's listener for a protocol; resolves to its port. */
  listen(kind: TargetKind): Promise<number>;
}

export interface TwoNodes {
  a: TestNode;
  b: TestNode;
  admin: UserRecord;
  close(): Promise<void>;
}

export async function twoNodes(opts: { log?: Logger } = {}): Promise<TwoNodes> {
  const root = mkdtempSync(join(tmpdir(), 'portcullis-xnode-'));
  const dirA = join(root, 'a');
  const dirB = join(root, 'b');
  mkdirSync(dirA, { mode: 0o700 });
  mkdirSync(dirB, { mode: 0o700 });
  createMasterKeyFile(dirA);
  copyFileSync(masterKeyPath(dirA), masterKeyPath(dirB));
  // One recordings directory, as a shared mount would give every node.
  mkdirSync(dataPaths(dirA).recordings, { recursive: true, mode: 0o700 });
  symlinkSync(dataPaths(dirA).recordings, dataPaths(dirB).recordings);
  const log = opts.log ?? createLogger('silent');
  const tls = { cert: testTls().server.certPem, key: testTls().server.keyPem };
  const listeners: Listener[] = [];
  const node = async (name: string, dir: string, storeFile: string): Promise<TestNode> => {
    const config = defaultConfig(dir);
    config.node = name;
    config.listen = '127.0.0.1';
    config.postgres.port = 0;
    config.mysql.port = 0;
    config.ssh.port = 0;
    const app = buildApp(config, { clock: systemClock, env: {}, log: log.child({ node: name }), store: openSqliteStore(storeFile) });
    await app.checkpoints.start();
    await app.bus.start();
    return {
      name, app,
      listen: async (kind) => {
        const l = PROTOCOLS[kind].listener({ app, tls });
        listeners.push(l);
        return (await l.start()).port;
      },
    };
  };
  const storeFile = dataPaths(dirA).store;
  const a = await node('node-a', dirA, storeFile);
  const b = await node('node-b', dirB, storeFile);
  const admin = await a.app.users.add('test', { name: 'admin', roles: ['admin'], kind: 'service' });
  return {
    a, b, admin,
    close: async () => {
      await Promise.all(listeners.map((l) => l.stop()));
      await Promise.all([a.app.pipeline.shutdown(5_000), b.app.pipeline.shutdown(5_000)]);
      await a.app.close();
      await b.app.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
