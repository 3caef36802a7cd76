// The composition root of a running gateway (`portcullis serve`): builds the services root
// (app.ts), then the front ends around it — the HTTPS API with its WebSocket routes, the vendor
// browser terminals, and one listener per protocol from the registry — starts them, and drains them
// on stop: stop accepting, end live sessions with `gateway-shutdown`, finish in-flight API calls,
// close the store. It owns no protocol or session logic; it only wires.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:https';
import { certPaths, ensureCerts } from '../../certs/ca.js';
import { type App, buildApp } from '../app.js';
import type { Config } from '../config/config.js';
import { liveViewRoute } from '../http/live-view.js';
import type { Composed } from '../http/router.js';
import { createApiServer } from '../http/server.js';
import { originGuard } from '../http/origin-guard.js';
import { attachUpgrades } from '../http/upgrade.js';
import { vendorTerminalRoute } from '../http/vendor-socket.js';
import { LOG, type Logger } from '../log/logger.js';
import type { Listener } from '../net/listener.js';
import { closeOrphanedSessions } from '../session/crash-recovery.js';
import { loadSqlParsers } from '../rules/sql-matcher.js';
import { checkTarget, PROBE_TIMEOUT_MS } from '../targets/target-check.js';
import { systemClock } from '../util/clock.js';
import { PortcullisError } from '../util/errors.js';
import { VendorTerminals } from '../web-terminal/vendor-terminals.js';
import { migrateBindings } from '../vault/binding-migration.js';
import { PROTOCOLS } from './protocols.js';
import { openServeStore } from '../cluster/serve-store.js';
import { openNodeStore, scrubSecret } from '../cluster/node-store.js';
import { ownsAtStart } from '../cluster/node-ownership.js';
import { prepareSshUserCa } from '../cluster/ssh-user-ca.js';

/** How long a reloaded vendor page may take to re-attach to its running terminal. */
const VENDOR_RECONNECT_GRACE_MS = 30_000;

export interface Running {
  app: App;
  url: string;
  /** The bound port of each listener, by name (https, ssh, postgres, mysql). */
  ports: Record<string, number>;
  stop(): Promise<void>;
}

/** The front ends the API reaches that the services root does not build. */
function composeForApi(app: App): Composed {
  return {
    vendorTerminals: new VendorTerminals({ pipeline: app.pipeline, liveRecordings: app.liveRecordings, graceMs: VENDOR_RECONNECT_GRACE_MS }),
    checkTarget: (t) => checkTarget(t, app.creds, PROTOCOLS[t.kind].probe, (x) => app.ephemeral.checkProvisioner(x)),
    fetchCertificate: (kind, host, port, caPem) => {
      const fetch = PROTOCOLS[kind].fetchCertificate;
      if (!fetch) return Promise.reject(new PortcullisError('bad-request', `${kind} targets do not use TLS certificates (ssh pins a host key)`));
      return fetch(host, port, caPem, PROBE_TIMEOUT_MS);
    },
  };
}

/**
 * `beforeAnnounce` runs once every listener is bound and before serve.json is written: serve.json
 * is the sign (to the CLI, scripts and tests) that the gateway is up, so anything it settles (the
 * setup link's file) is settled by the time anyone reads that sign.
 */
export async function startGateway(config: Config, env: NodeJS.ProcessEnv, log: Logger, beforeAnnounce?: (up: Omit<Running, 'stop'>) => Promise<void>): Promise<Running> {
  const adminLogins = Object.fromEntries(Object.entries(PROTOCOLS).flatMap(([kind, p]) => (p.admin ? [[kind, p.admin]] : [])));
  const loginProbes = Object.fromEntries(Object.entries(PROTOCOLS).map(([kind, p]) => [kind, p.probe]));
  // The store first: unreachable, or a node that may not join, stops here with one clear sentence.
  // A pooled connection the store server dropped (restart, failover) is replaced by the pool; say so.
  const store = await openServeStore(config, env, (where) => openNodeStore(where, {
    onError: (err) => log.warn({ err: config.store ? scrubSecret(err.message, config.store) : err.message }, LOG.storeConnectionLost),
  }));
  const app = buildApp(config, { clock: systemClock, env, log, adminLogins, loginProbes, store });
  // First: take this node's name in the cluster (refused while a live node holds it, before this
  // process touches any session), listen to the other nodes and look for lost ones.
  try {
    await app.cluster.start();
  } catch (err) {
    await app.close().catch(() => {});
    throw err;
  }
  // Anything failing from here to the listeners closes what started (the cluster's heartbeat,
  // timers, the store), so the process exits with the error instead of idling with nothing served.
  let tls: { cert: string; key: string };
  try {
    const certs = ensureCerts(config.data, config.hostnames);
    // Before the SSH listener and the API: the user CA that signs and checks SSH certificates (made, or the cluster's pulled).
    await prepareSshUserCa(app.paths.root, config.store === null ? null : { store: app.store, vault: app.vault });
    tls = { cert: readFileSync(certs.serverCert, 'utf8'), key: readFileSync(certs.serverKey, 'utf8') };
    // Before anything is appended: fixes where keying begins (first start of an older data dir) and
    // writes the start checkpoint. A checkpoint file that does not verify is logged, not fatal:
    // `audit verify` names what is wrong with it, and the gateway keeps serving.
    await app.checkpoints.start().catch((err: unknown) => log.error({ err }, LOG.auditCheckpointFailed));
    // Before any listener accepts: every session live in the store now was left open by a previous
    // run that died without draining. One node on its own store owns every one of them; on a shared
    // store only this node's own (the others may be running on their nodes, or are the lost-node
    // sweeper's to end).
    await closeOrphanedSessions({
      store: app.store, audit: app.audit, clock: app.clock, log, recordingsDir: app.paths.recordings,
      owns: ownsAtStart(app.store.kind, config.node), running: (id) => app.live.get(id) !== undefined,
    });
    // Jobs a previous run queued but never ran (keyframes, search index) go first in the pool; then
    // the recordings volume is measured once, so a full volume refuses the very first login.
    // Target credentials sealed before they were bound to their target are bound now, once (the
    // marker in the data dir says it happened; the store cannot undo it). See binding-migration.ts.
    const binding = await migrateBindings(app.store, app.vault, app.paths.root);
    if (binding.ran) await app.audit.append('vault.credentials_bound', 'portcullis', { migrated: binding.migrated, left: binding.left });
    if (binding.left.length > 0) log.warn({ targets: binding.left }, LOG.vaultCredentialsUnbound);
    // Before any listener accepts: ephemeral accounts of grants that ended while we were down, and
    // intents left `creating` by a run that died mid-creation (the account may exist), are dropped.
    await app.ephemeral.start();
    // Before any listener: a rotation a crash interrupted is finished or undone, so the first
    // session checks out a credential that logs in; then the daily rotations are armed.
    await app.rotation.recoverAll();
    app.rotationTriggers.start();
    app.postClose.recover();
    // Before any listener: the SQL parsers (WASM) and the guardrail rules, so the first session is
    // checked like every other; then reloaded periodically in case a change notice was missed.
    await loadSqlParsers({ maxParseBytes: config.rules.maxParseBytes });
    await app.rules.reload();
    armRuleReload(app);
    await app.recordingSpace.start();
    await app.timers.start();
    app.discoverySchedule.start();
    app.sso.startRefresh();
  } catch (err) {
    await app.close().catch(() => {});
    throw err;
  }
  const composed = composeForApi(app);
  const origins = originGuard(app);
  const api = createApiServer(app, composed, tls, origins);
  attachUpgrades(api, [liveViewRoute(app, app.liveRecordings), vendorTerminalRoute(composed.vendorTerminals, log)], log, origins);
  const listeners: Listener[] = [httpsListener(api, config), ...Object.values(PROTOCOLS).map((p) => p.listener({ app, tls }))];
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info({ live: app.live.size }, LOG.serveStopping);
      // Every session, logging in or relaying, ends with gateway-shutdown (first, so that reason wins
      // over the client sockets the listeners drop) and gets to book its end, revoke its credential
      // and seal its recording before the store closes under it.
      const drained = app.pipeline.shutdown(10_000);
      const closing = Promise.all(listeners.map((l) => l.stop()));
      await Promise.race([Promise.all([closing, drained]), new Promise((r) => setTimeout(r, 10_000).unref())]);
      // Post-close jobs running now may finish (a few seconds); queued ones keep their markers and
      // run at the next start. The store stays open until then.
      await app.postClose.stop(5_000);
      api.closeAllConnections();
      rmSync(app.paths.serveInfo, { force: true });
      await app.close();
      log.info({}, LOG.serveStopped);
    })();
    return stopping;
  };
  const bound: Record<string, number> = {};
  let url = '';
  // A listener that cannot bind (the port is taken) or a failing announce ends the start: what
  // was started stops, and the error reaches the caller. Left running, the bound listeners and
  // the timers kept the process alive with nothing serving, where a supervisor waits for an exit.
  try {
    for (const l of listeners) bound[l.name] = (await l.start()).port;
    const host = config.listen === '0.0.0.0' || config.listen === '::' ? config.hostnames[0]! : config.listen;
    url = `https://${host.includes(':') ? `[${host}]` : host}:${bound.https}`;
    app.addresses = {
      url: config.publicUrl ?? url, sshHost: host, sshPort: bound.ssh ?? config.ssh.port,
      pgPort: bound.postgres ?? config.postgres.port, mysqlPort: bound.mysql ?? config.mysql.port,
    };
    await beforeAnnounce?.({ app, url, ports: bound });
    // Written whole then renamed: a CLI or script that sees the file never reads half of it.
    const infoTmp = `${app.paths.serveInfo}.${process.pid}.tmp`;
    writeFileSync(infoTmp, JSON.stringify({ url, pid: process.pid, ports: bound, ca: certPaths(config.data).caCert, node: config.node, store: app.store.kind }, null, 2) + '\n');
    renameSync(infoTmp, app.paths.serveInfo);
  } catch (err) {
    await stop();
    throw err;
  }
  log.info({ url, ports: bound }, LOG.serveStarted);
  return { app, url, ports: bound, stop };
}

function httpsListener(api: Server, config: Config): Listener {
  return {
    name: 'https',
    start: () => new Promise((resolve, reject) => {
      api.once('error', reject);
      api.listen(config.http.port, config.listen, () => resolve(api.address() as AddressInfo));
    }),
    stop: () => new Promise((resolve) => {
      api.close(() => resolve());
      api.closeIdleConnections();
    }),
  };
}

/** Every RULE_RELOAD_MS the rules are read again: the safety net for a missed change notice (another node, or the store written directly). */
const RULE_RELOAD_MS = 5000;
function armRuleReload(app: App): void {
  const again = (): void => {
    app.scheduler.set('rules:reload', app.clock.now() + RULE_RELOAD_MS, async () => {
      await app.rules.reload().catch((err: unknown) => app.log.warn({ err: err instanceof Error ? err.message : String(err) }, LOG.rulesReloadFailed));
      again();
    });
  };
  again();
}
