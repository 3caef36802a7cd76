// An in-process App on a temp data dir with a fake clock: the unit ring's way to exercise the
// real services and the real SQLite store without a server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, type AppOptions, buildApp } from '../../gateway/app.js';
import { defaultConfig, type Config } from '../../gateway/config/config.js';
import { createLogger, type Logger } from '../../gateway/log/logger.js';
import type { UserRecord } from '../../gateway/store/records.js';
import { createMasterKeyFile } from '../../gateway/vault/master-key.js';
import type { Poster } from '../../gateway/webhooks/notifier.js';
import { FakeClock } from './fake-clock.js';

export interface TestApp {
  app: App;
  clock: FakeClock;
  dir: string;
  admin: UserRecord;
  user(name: string, roles: string[]): Promise<UserRecord>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  config?: (c: Config) => void;
  poster?: Poster;
  /** Fake provisioner logins and login probes (rotation, ephemeral accounts, discovery). */
  adminLogins?: AppOptions['adminLogins'];
  loginProbes?: AppOptions['loginProbes'];
  /** A logger to capture (default: silent). */
  log?: Logger;
  /** The ticket system policies' ticket checks reach (default: real HTTP). */
  tickets?: AppOptions['tickets'];
}

export async function testApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-unit-'));
  createMasterKeyFile(dir);
  const config = defaultConfig(dir);
  opts.config?.(config);
  const clock = new FakeClock();
  const app = buildApp(config, {
    clock, env: {}, log: opts.log ?? createLogger('silent'), ...(opts.poster ? { poster: opts.poster } : {}),
    ...(opts.adminLogins ? { adminLogins: opts.adminLogins } : {}), ...(opts.loginProbes ? { loginProbes: opts.loginProbes } : {}),
    ...(opts.tickets ? { tickets: opts.tickets } : {}),
  });
  await app.checkpoints.start();
  await app.timers.start();
  const admin = await app.users.add('test', { name: 'admin', roles: ['admin'], kind: 'service' });
  return {
    app, clock, dir, admin,
    user: (name, roles) => app.users.add('admin', { name, roles, password: `${name}-password-1` }),
    close: async () => { await app.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

export function addSshTarget(app: App, name = 'web01', password = 'target-secret-1'): ReturnType<App['targets']['add']> {
  return app.targets.add('admin', {
    name, kind: 'ssh', host: '127.0.0.1', port: 22, account: 'root', password,
    hostKey: 'SHA256:' + 'A'.repeat(43),
  });
}
