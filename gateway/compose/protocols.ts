// The protocol registry: for each target kind, how the gateway listens for that protocol's clients
// and how `target test` logs in to such a target (the session adapter joins each entry with the
// pipeline merge). `serve`, `target test` and the API all read this one table, so adding a protocol
// is a folder under gateway/ plus an entry here (the table is keyed by TargetKind, so a new kind
// does not compile until it has one). It lives at the composition level: it imports the protocol
// folders and the services root; no protocol folder imports it. Building an entry's listener does
// not start it.
import { approvalUrl } from '../identity/handoffs.js';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { App } from '../app.js';
import { storeConnectionDirectory } from '../cluster/mysql-connections.js';
import { busCancelRelay, receiveCancels } from '../cluster/pg-cancels.js';
import { LOG } from '../log/logger.js';
import type { Listener } from '../net/listener.js';
import { ConnectionIds } from '../mysql/connection-ids.js';
import { GreetingCache } from '../mysql/greeting-cache.js';
import { createMyListener } from '../mysql/listener.js';
import { fetchMyCertificate } from '../mysql/cert-fetch.js';
import { probeMysqlLogin } from '../mysql/probe.js';
import { mysqlAdminLogin } from '../mysql/provisioner.js';
import type { CertificateInfo } from '../net/upstream-tls.js';
import { fetchPgCertificate } from '../postgres/cert-fetch.js';
import { CancelKeys } from '../postgres/cancel-keys.js';
import { createPgListener } from '../postgres/listener.js';
import { probePostgresLogin } from '../postgres/probe.js';
import { postgresAdminLogin } from '../postgres/provisioner.js';
import { createSshListener } from '../ssh/listener.js';
import { probeSshLogin } from '../ssh/probe.js';
import { sshAdminLogin } from '../ssh/provisioner.js';
import type { TargetKind } from '../store/records.js';
import type { AdminLogin } from '../provision/provisioner.js';
import type { LoginProbe } from '../targets/target-check.js';
import { parseDuration } from '../util/duration.js';
import { BrowserWaits } from '../ssh/browser-waits.js';

/** What an entry needs to build its listener: the services and the gateway's TLS certificate. */
export interface ListenerContext {
  app: App;
  tls: { cert: string; key: string };
}

export interface ProtocolEntry {
  /** Builds (does not start) the listener for this protocol's clients. */
  listener(ctx: ListenerContext): Listener;
  /** Logs in to a target of this kind with its vaulted credential (`target test`). */
  probe: LoginProbe;
  /** Logs in as the target's vaulted account to provision, rotate and discover (gateway/provision/provisioner.ts). */
  admin?: AdminLogin;
  /** Database kinds: the protocol's TLS upgrade, to show the certificate (`target fetch-cert`). */
  fetchCertificate?: (host: string, port: number, caPem: string | null, timeoutMs: number) => Promise<CertificateInfo>;
}

export const PROTOCOLS: { readonly [K in TargetKind]: ProtocolEntry } = {
  ssh: {
    listener: ({ app }) => createSshListener({
      authn: app.authn, certs: app.sshCerts, links: app.links, pipeline: app.pipeline, log: app.log.child({ listener: 'ssh' }),
      // app.addresses is replaced once the ports are bound: read it per login.
      handoffs: { service: app.handoffs, approvalUrl: (id) => approvalUrl(app.addresses.url, id), waits: new BrowserWaits(3, Math.max(1, Math.floor(app.config.ssh.maxPreAuth / 4))) },
      authTimeoutMs: parseDuration(app.config.ssh.authTimeout),
    }, { hostKeyFile: app.paths.hostKey, host: app.config.listen, port: app.config.ssh.port, maxPreAuth: app.config.ssh.maxPreAuth }),
    probe: probeSshLogin,
    admin: sshAdminLogin,
  },
  postgres: {
    listener: ({ app, tls }) => {
      const log = app.log.child({ listener: 'postgres' });
      // Cancels for keys of other nodes go through the cluster bus, and theirs come back here.
      const cancelKeys = new CancelKeys(busCancelRelay(app.bus, app.clock, log));
      receiveCancels(app.bus, cancelKeys, app.clock, log);
      return createPgListener({
        authn: app.authn, pipeline: app.pipeline, clock: app.clock, log, tls,
        allowPlaintext: app.config.postgres.allowPlaintext, cancelKeys, maxMessage: app.config.postgres.maxMessageBytes,
        statementMax: app.config.statements.maxBytes,
        handshakeTimeoutMs: parseDuration(app.config.postgres.handshakeTimeout),
      }, { host: app.config.listen, port: app.config.postgres.port, maxHandshakes: app.config.postgres.maxHandshakes });
    },
    probe: probePostgresLogin,
    admin: postgresAdminLogin,
    fetchCertificate: fetchPgCertificate,
  },
  mysql: {
    listener: ({ app, tls }) => {
      const log = app.log.child({ listener: 'mysql' });
      // Connection ids are recorded for the cluster, so a KILL landing on another node finds its thread.
      const ids = new ConnectionIds(storeConnectionDirectory(app.store, app.config.node, log, { clock: app.clock, lostAfterMs: parseDuration(app.config.cluster.nodeLostAfter) }),
        (id, why) => log.warn({ id, reason: why }, LOG.mysqlConnectionIdUnshared));
      return createMyListener({
        authn: app.authn, pipeline: app.pipeline, clock: app.clock, log, tls,
        allowPlaintext: app.config.mysql.allowPlaintext, ids, greetings: new GreetingCache(), maxPacket: app.config.mysql.maxPacketBytes,
        statementMax: app.config.statements.maxBytes,
        rsa: mysqlRsaKey(), handshakeTimeoutMs: parseDuration(app.config.mysql.handshakeTimeout),
      }, { host: app.config.listen, port: app.config.mysql.port, maxHandshakes: app.config.mysql.maxHandshakes, targets: () => app.store.targets.list() });
    },
    probe: probeMysqlLogin,
    admin: mysqlAdminLogin,
    fetchCertificate: fetchMyCertificate,
  },
};

/** A per-process RSA key for MySQL's caching_sha2_password exchange without TLS. */
function mysqlRsaKey(): { publicKeyPem: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey };
}
