// `portcullis serve`: run every listener until SIGTERM/SIGINT, then drain: stop accepting, end live
// sessions with `gateway-shutdown`, finish in-flight API calls, close the store. Protocol listeners
// (SSH, PostgreSQL, MySQL) join the `listeners` list as their issues land.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { certPaths, ensureCerts } from '../../certs/ca.js';
import { type App, buildApp } from '../app.js';
import type { Config } from '../config/config.js';
import { createApiServer } from '../http/server.js';
import { liveViewRoute } from '../http/live-view.js';
import { attachUpgrades } from '../http/upgrade.js';
import { vendorTerminalRoute } from '../http/vendor-socket.js';
import { LOG, type Logger } from '../log/logger.js';
import { createSshListener } from '../ssh/listener.js';
import { createPgListener } from '../postgres/listener.js';
import { CancelKeys } from '../postgres/cancel-keys.js';
import { createMyListener } from '../mysql/listener.js';
import { ConnectionIds } from '../mysql/connection-ids.js';
import { GreetingCache } from '../mysql/greeting-cache.js';
import { generateKeyPairSync } from 'node:crypto';
import { systemClock } from '../util/clock.js';
import { optionalDuration } from '../config/config.js';
import { parseDuration } from '../util/duration.js';

/** A per-process RSA key for MySQL's caching_sha2_password exchange without TLS. */
function mysqlRsaKey(): { publicKeyPem: string; privateKey: import('node:crypto').KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey };
}

export interface Listener {
  name: string;
  start(): Promise<AddressInfo>;
  /** Stops accepting new connections; existing ones are ended by the live-session registry. */
  stop(): Promise<void>;
}

export interface Running {
  app: App;
  url: string;
  stop(): Promise<void>;
}

export async function startGateway(config: Config, env: NodeJS.ProcessEnv, log: Logger): Promise<Running> {
  const app = buildApp(config, { clock: systemClock, env, log });
  const certs = ensureCerts(config.data, config.hostnames);
  await app.timers.start();
  const api = createApiServer(app, { cert: readFileSync(certs.serverCert, 'utf8'), key: readFileSync(certs.serverKey, 'utf8') });
  attachUpgrades(api, [liveViewRoute(app, app.liveRecordings), vendorTerminalRoute(app)]);
  const listeners: Listener[] = [{
    name: 'https',
    start: () => new Promise((resolve, reject) => {
      api.once('error', reject);
      api.listen(config.http.port, config.listen, () => resolve(api.address() as AddressInfo));
    }),
    stop: () => new Promise((resolve) => {
      api.close(() => resolve());
      api.closeIdleConnections();
    }),
  }];
  listeners.push(createSshListener({
    authn: app.authn, decider: app.decider, links: app.links, broker: app.broker, audit: app.audit, clock: app.clock, log: log.child({ listener: 'ssh' }),
    authTimeoutMs: parseDuration(config.ssh.authTimeout), idleTimeoutMs: optionalDuration(config.ssh.idleTimeout), liveRecordings: app.liveRecordings,
  }, { hostKeyFile: app.paths.hostKey, host: config.listen, port: config.ssh.port, maxPreAuth: config.ssh.maxPreAuth }));
  listeners.push(createPgListener({
    authn: app.authn, decider: app.decider, broker: app.broker, audit: app.audit, clock: app.clock, log: log.child({ listener: 'postgres' }),
    tls: { cert: readFileSync(certs.serverCert, 'utf8'), key: readFileSync(certs.serverKey, 'utf8') },
    allowPlaintext: config.postgres.allowPlaintext, cancelKeys: new CancelKeys(), maxMessage: config.postgres.maxMessageBytes,
    handshakeTimeoutMs: parseDuration(config.postgres.handshakeTimeout),
  }, { host: config.listen, port: config.postgres.port, maxHandshakes: config.postgres.maxHandshakes }));
  listeners.push(createMyListener({
    authn: app.authn, decider: app.decider, broker: app.broker, audit: app.audit, clock: app.clock, log: log.child({ listener: 'mysql' }),
    tls: { cert: readFileSync(certs.serverCert, 'utf8'), key: readFileSync(certs.serverKey, 'utf8') },
    allowPlaintext: config.mysql.allowPlaintext, ids: new ConnectionIds(), greetings: new GreetingCache(), maxPacket: config.mysql.maxPacketBytes,
    rsa: mysqlRsaKey(),
    handshakeTimeoutMs: parseDuration(config.mysql.handshakeTimeout),
  }, { host: config.listen, port: config.mysql.port, maxHandshakes: config.mysql.maxHandshakes, targets: () => app.targets.list() }));
  const bound: Record<string, number> = {};
  for (const l of listeners) bound[l.name] = (await l.start()).port;
  const host = config.listen === '0.0.0.0' || config.listen === '::' ? config.hostnames[0]! : config.listen;
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${bound.https}`;
  app.addresses = { url: config.publicUrl ?? url, sshHost: host, sshPort: bound.ssh ?? config.ssh.port };
  writeFileSync(app.paths.serveInfo, JSON.stringify({ url, pid: process.pid, ports: bound, ca: certPaths(config.data).caCert }, null, 2) + '\n');
  log.info({ url, ports: bound }, LOG.serveStarted);

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info({ live: app.live.size }, LOG.serveStopping);
      const closing = Promise.all(listeners.map((l) => l.stop()));
      app.live.closeAll('gateway-shutdown');
      await Promise.race([closing, new Promise((r) => setTimeout(r, 10_000).unref())]);
      api.closeAllConnections();
      rmSync(app.paths.serveInfo, { force: true });
      await app.close();
      log.info({}, LOG.serveStopped);
    })();
    return stopping;
  };
  return { app, url, stop };
}
