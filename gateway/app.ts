// The services root: builds every service from a config, a clock and a store — access, audit,
// vault, store, the session broker and live-session registry, timers, webhooks, metrics. It builds
// no front end: the protocol listeners, the vendor browser terminals and the HTTP server are built
// around it by the composition root (compose/gateway.ts). `serve`, `init` and tests go through here.
import { FlagSink } from './risk/flag-sink.js';
import { RiskService } from './risk/risk-service.js';
import { riskSettings } from './risk/risk-settings.js';
import { mkdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { AccessTimers } from './access/access-timers.js';
import { Authenticator } from './access/authn.js';
import { BreakglassService } from './access/breakglass.js';
import { LinkService } from './access/links.js';
import { HandoffService } from './identity/handoffs.js';
import { type AccessContext } from './access/context.js';
import { TicketChecker, type TicketHttp } from './access/ticket-check.js';
import { AccessDecider } from './access/decider.js';
import type { AccessEvents } from './access/events.js';
import { GrantService } from './access/grants.js';
import { PolicyService } from './access/policies.js';
import { RequestService } from './access/requests.js';
import { TargetService } from './access/targets.js';
import { hashing } from './access/hash-runner.js';
import { LoginThrottle } from './access/throttle.js';
import { UserService } from './access/users.js';
import { readClientSecret } from './identity/oidc-config.js';
import { passwordPolicy } from './identity/sso-password-policy.js';
import { SsoService } from './identity/sso-service.js';
import { SshCertificateService } from './access/ssh-certificates.js';
import { SetupService } from './access/setup.js';
import { AuditKey } from './audit/audit-key.js';
import { AuditLog } from './audit/audit-log.js';
import { auditFiles, ensureSigningKey, loadVerifyKey, publicKeyText, readLines } from './audit/checkpoint-file.js';
import { AuditCheckpoints } from './audit/checkpoints.js';
import { type Config, discoveryInterval, optionalDuration, publicUrl } from './config/config.js';
import { type DataPaths, dataPaths } from './config/data-dir.js';
import { Metrics } from './util/metrics.js';
import { RuleBook } from './rules/rule-book.js';
import { RuleGate } from './rules/rule-gate.js';
import { RuleService } from './rules/rule-service.js';
import { LOG, type Logger } from './log/logger.js';
import type { SessionRecording } from '../recorder/session-recording.js';
import { StaticCredentials } from './session/credentials.js';
import { LiveSessions } from './session/live-sessions.js';
import { SessionPipeline } from './session/pipeline.js';
import { POST_CLOSE_DIR, PostCloseWork } from './session/post-close.js';
import { RecordingSpace, type SpaceReport, type StatVolume } from './session/recording-space.js';
import { indexRecording } from './session/search-index.js';
import { writeKeyframesOffThread } from '../recorder/keyframes.js';
import { parseSize } from './util/size.js';
import { decidingAuthorizer, storeJournal } from './session/store-ports.js';
import { SessionCatalog } from './session/session-catalog.js';
import { MaskedInputReveals } from './session/masked-reveal.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/store.js';
import { withUnreachableWording } from './store/unreachable.js';
import type { TargetKind } from './store/records.js';
import type { AdminLogin } from './provision/provisioner.js';
import { EphemeralService } from './provision/ephemeral-service.js';
import { RotationService } from './provision/rotation.js';
import { TargetLocks } from './provision/rotation-lock.js';
import { RotationTriggers } from './provision/rotation-triggers.js';
import type { LoginProbe } from './targets/target-check.js';
import { DiscoveryService } from './provision/discovery.js';
import { DiscoverySchedule } from './provision/discovery-schedule.js';
import type { Clock } from './util/clock.js';
import { DeadlineScheduler } from './util/deadline-scheduler.js';
import { parseDuration } from './util/duration.js';
import { EventBus } from './util/event-bus.js';
import { ClusterBus } from './cluster/bus.js';
import { BusSeal, deriveBusKey } from './cluster/bus-seal.js';
import { Cluster } from './cluster/cluster.js';
import { lastRunFile } from './cluster/last-run.js';
import { NodeDirectory } from './cluster/node-directory.js';
import { CredentialVault } from './vault/credential-vault.js';
import { loadMasterKeys } from './vault/master-key.js';
import { RecordingKeys } from './vault/recording-keys.js';
import { Vault } from './vault/vault.js';
import { type Poster, WebhookNotifier } from './webhooks/notifier.js';

export interface App {
  config: Config;
  paths: DataPaths;
  clock: Clock;
  log: Logger;
  store: Store;
  audit: AuditLog;
  /** Signed checkpoints of the audit chain's head; serve and init start it, close writes the last. */
  checkpoints: AuditCheckpoints;
  events: EventBus<AccessEvents>;
  /** Messages to and from the other nodes sharing the store (gateway/cluster/bus.ts); serve starts it. */
  bus: ClusterBus;
  /** Membership, lost-node sweeps, session control across nodes, once-per-cluster claims (gateway/cluster/); serve starts it. */
  cluster: Cluster;
  /** The cluster's nodes as the API lists them. */
  nodeDirectory: NodeDirectory;
  scheduler: DeadlineScheduler;
  vault: Vault;
  creds: CredentialVault;
  /** The keys masked terminal input is sealed under (wrapped by the vault). */
  recordingKeys: RecordingKeys;
  /** Reveals sealed masked input to an admin, audited. */
  reveals: MaskedInputReveals;
  users: UserService;
  authn: Authenticator;
  /** Single sign-on (oidc: in the config): the console's sign-in through the identity provider, and the refresh job serve starts. */
  sso: SsoService;
  /** SSH user certificates from a sign-in: issued by the API, checked by the SSH listener. */
  sshCerts: SshCertificateService;
  setup: SetupService;
  targets: TargetService;
  policies: PolicyService;
  requests: RequestService;
  grants: GrantService;
  breakglass: BreakglassService;
  links: LinkService;
  /** Logins approved in a signed-in browser: `login --sso`, SSH keyboard-interactive (identity/handoffs.ts). */
  handoffs: HandoffService;
  decider: AccessDecider;
  live: LiveSessions;
  /** THE session pipeline every front end runs its sessions through. */
  pipeline: SessionPipeline;
  /** Recorded sessions for the API: list, search, lookup. */
  sessions: SessionCatalog;
  /** Recordings of running sessions, for live viewers. */
  liveRecordings: Map<string, SessionRecording>;
  /** Free space on the recordings volume against its watermark; serve starts and stops it. */
  recordingSpace: RecordingSpace;
  /** Keyframes and search indexing of closed recordings, in a bounded pool; serve recovers and stops it. */
  postClose: PostCloseWork;
  /** Where users reach the gateway (links print these); serve sets the bound ports. */
  addresses: { url: string; sshHost: string; sshPort: number; pgPort: number; mysqlPort: number };
  timers: AccessTimers;
  /** Ephemeral per-grant accounts: credentials, reconciler, listing; serve starts it before the listeners. */
  ephemeral: EphemeralService;
  notifier: WebhookNotifier;
  metrics: Metrics;
  /** Rotation of static credentials: `target rotate`, and crash recovery at start (provision/rotation.ts). */
  rotation: RotationService;
  /** after-session and daily rotation; serve starts it after rotation.recoverAll(). */
  rotationTriggers: RotationTriggers;
  /**
   * Guardrail rules (gateway/rules/): `rules.book` is what every session's gate checks; serve loads
   * it before the listeners (`rules.reload()`); add and remove reload it and tell the other nodes.
   */
  rules: RuleService;
  /** Privileged accounts on targets, managed or not (gateway/provision/discovery.ts). */
  discovery: DiscoveryService;
  /** Scheduled discovery (`discovery.interval`); serve starts it. */
  discoverySchedule: DiscoverySchedule;
  counters: { http: (l: Record<string, string>) => void; authFailures: () => void; webhookFailures: () => void };
  /** Stops the timers, then closes the store once its running transaction has finished. */
  close(): Promise<void>;
}

export interface AppOptions {
  clock: Clock;
  env: NodeJS.ProcessEnv;
  log: Logger;
  poster?: Poster;
  /** How the recordings volume is measured (tests fake a full disk). */
  statVolume?: StatVolume;
  /**
   * How each target kind's provisioner logs in (gateway/provision/provisioner.ts): ephemeral
   * accounts, rotation and discovery. The composition root passes the protocol registry's; a kind
   * without one cannot have ephemeral credentials, rotation or discovery.
   */
  adminLogins?: Partial<Record<TargetKind, AdminLogin>>;
  /** Each target kind's login probe: rotation verifies a new secret with a fresh login. */
  loginProbes?: Partial<Record<TargetKind, LoginProbe>>;
  /**
   * The store, opened by the caller (store/open-store.ts: a PostgreSQL store is opened
   * asynchronously). Default: SQLite in the data dir. The app owns it from here and closes it.
   */
  store?: Store;
  /** How policies' ticket checks reach the ticket system, and within how long (tests: no sockets, a short limit). */
  tickets?: { http: TicketHttp; timeoutMs?: number };
}

export function buildApp(config: Config, opts: AppOptions): App {
  const paths = dataPaths(config.data, config.recordings.dir);
  mkdirSync(paths.recordings, { recursive: true, mode: 0o700 });
  const { clock, log } = opts;
  // A store that cannot be reached says so in one clear sentence to every client (store/unreachable.ts).
  const store = withUnreachableWording(opts.store ?? openSqliteStore(paths.store));
  const keys = loadMasterKeys(paths.root, opts.env);
  const vault = new Vault(keys.keys);
  const events = new EventBus<AccessEvents>((event, err) => log.error({ event, err }, LOG.eventHandlerFailed));
  const scheduler = new DeadlineScheduler(clock, (key, err) => log.error({ key, err }, LOG.timerFailed));
  const { audit, checkpoints, auditKey } = buildAudit(config, paths, { store, vault, master: keys.keys[0]!, clock, log, events, scheduler, env: opts.env });
  // Signed with a key derived from the cluster's audit key: a database role cannot forge or replay.
  const bus = new ClusterBus(store.notifications, config.node, {
    dropped: (reason) => log.warn({ reason }, LOG.clusterMessageDropped),
    handlerFailed: (type, err) => log.error({ type, err }, LOG.clusterHandlerFailed),
  }, new BusSeal(deriveBusKey(auditKey.key), clock), clock);
  const settings = {
    pendingTtlMs: parseDuration(config.requests.pendingTtl),
    breakglassMaxMs: parseDuration(config.breakglass.max),
    warnBeforeMs: parseDuration(config.expiry.warnBefore),
  };
  const ctx: AccessContext = { store, audit, clock, events, settings };
  const creds = new CredentialVault(store, vault, keys.file);
  // A rotation re-seals audit.key under the new master key: the audit key itself never changes.
  creds.onReseal((v) => auditKey.persist(v));
  const recordingKeys = new RecordingKeys(store, vault, clock);
  const policies = new PolicyService(ctx);
  const grants = new GrantService(ctx);
  const requests = new RequestService(ctx, policies, grants, opts.tickets && new TicketChecker(opts.tickets.http, () => clock.now(), opts.tickets.timeoutMs));
  const live = new LiveSessions(clock, scheduler, settings.warnBeforeMs);
  live.watch(events);
  const metrics = new Metrics();
  const counters = {
    http: metrics.counter('portcullis_http_requests_total', 'HTTP API requests by route group and status'),
    authFailures: metrics.counter('portcullis_auth_failures_total', 'Failed logins on any listener'),
    webhookFailures: metrics.counter('portcullis_webhook_failures_total', 'Failed webhook delivery attempts'),
  };
  metrics.gauge('portcullis_live_sessions', 'Sessions currently brokered', () => live.size);
  metrics.gauge('portcullis_scheduled_deadlines', 'Deadlines held by the timer wheel', () => scheduler.size);
  // Password hashing is capped process-wide (hash-runner.ts); the throttle is per app.
  hashing.configure({ concurrency: config.logins.hashConcurrency, maxWaiting: config.logins.hashQueue });
  const throttle = new LoginThrottle(clock, {
    pairFailures: config.logins.pairFailures, accountFailures: config.logins.accountFailures, addressFailures: config.logins.addressFailures,
    windowMs: parseDuration(config.logins.failureWindow), lockMs: parseDuration(config.logins.lockout),
    addressHashRate: config.logins.addressHashRate, addressHashBurst: config.logins.addressHashBurst,
    addressConnectRate: config.logins.addressConnectRate, addressConnectBurst: config.logins.addressConnectBurst, connectRate: config.logins.connectRate,
  });
  const loginRefusals = metrics.counter('portcullis_login_refusals_total', 'Logins refused before any check: locked, over the address rate, or hashing saturated (not audited one by one)');
  metrics.gauge('portcullis_login_hashes_running', 'Password hashes running now (at most logins.hashConcurrency)', () => hashing.active);
  metrics.gauge('portcullis_login_hashes_queued', 'Password hashes waiting for a slot', () => hashing.queued);
  metrics.gauge('portcullis_login_throttle_keys', 'Names, addresses and pairs the login throttle tracks (bounded)', () => throttle.tracked);
  // How late the event loop runs, between scrapes: what a stall costs every session at once.
  const loopDelay = monitorEventLoopDelay({ resolution: 2 });
  loopDelay.enable();
  metrics.gauge('portcullis_event_loop_delay_max_ms', 'Longest event loop delay since the last scrape', () => loopDelay.max / 1e6);
  metrics.gauge('portcullis_event_loop_delay_p99_ms', 'p99 event loop delay since the last scrape (the scrape resets it)', () => {
    const v = loopDelay.percentile(99) / 1e6;
    loopDelay.reset();
    return v;
  });
  // Links in webhooks: the configured URL until the App exists, then the one serve sets once bound.
  let consoleUrl = (): string => publicUrl(config);
  const notifier = new WebhookNotifier(config.webhooks, clock, scheduler, {
    delivered: (url, event) => log.info({ url: redactUrl(url), event }, LOG.webhookDelivered),
    failed: (url, event, attempt, error, final) => {
      counters.webhookFailures();
      log.warn({ url: redactUrl(url), event, attempt, error, final }, LOG.webhookFailed);
    },
  }, opts.poster, () => consoleUrl());
  notifier.subscribe(events);
  const liveRecordings = new Map<string, SessionRecording>();
  const decider = new AccessDecider(ctx);
  // Checkouts wait up to a minute for a rotation (two logins and a change on the target); a
  // rotation waits as long for sessions to finish logging in.
  const locks = new TargetLocks(clock, { checkout: 60_000, rotation: 60_000 });
  const rotation = new RotationService({
    store, audit, creds, clock, events, log, locks, adminLogins: opts.adminLogins ?? {}, probes: opts.loginProbes ?? {},
  });
  // Once-per-cluster work (cluster/cluster.ts); the cluster is built below, claims run only later.
  const claim = (key: string): Promise<boolean> => cluster.claim(key);
  const rotationTriggers = new RotationTriggers({ store, scheduler, clock, log, locks, rotation, claim });
  const postClose = new PostCloseWork({
    markerDir: join(paths.root, POST_CLOSE_DIR), concurrency: config.recordings.postCloseConcurrency, log,
    // Below the watermark what is left is kept for sealing: keyframes are then built on first open.
    keyframes: (cast) => (recordingSpace.isLow ? Promise.resolve() : writeKeyframesOffThread(cast)),
    index: async (job) => { await indexRecording(store, job.dir, job.session, log); },
  });
  metrics.gauge('portcullis_post_close_queue_depth', 'Closed recordings waiting for keyframes and search indexing', () => postClose.depth);
  metrics.gauge('portcullis_post_close_running', 'Post-close jobs running now (at most recordings.postCloseConcurrency)', () => postClose.active);
  // Declared before the pipeline it notifies; its hooks only run once serve starts it.
  let pipeline: SessionPipeline | null = null;
  const spaceEvent = (r: SpaceReport): AccessEvents['recordings.space_low'] => ({
    dir: r.dir, free_bytes: r.free, total_bytes: r.total, watermark_bytes: r.watermark, ...(r.error ? { error: r.error } : {}),
  });
  const recordingSpace = new RecordingSpace(paths.recordings, {
    minFreeBytes: parseSize(config.recordings.minFree, 'recordings.minFree'), minFreePercent: config.recordings.minFreePercent,
  }, clock, {
    low: (r) => {
      log.error({ dir: r.dir, free: r.free, watermark: r.watermark, err: r.error }, LOG.recordingsSpaceLow);
      pipeline?.recordingSpaceLow(recordingSpace.refusal ?? 'the recordings volume is almost full');
      void audit.append('recordings.space_low', 'system', { dir: r.dir, free: r.free, total: r.total, watermark: r.watermark, ...(r.error ? { error: r.error } : {}) });
      events.emit('recordings.space_low', spaceEvent(r));
    },
    restored: (r) => {
      log.warn({ dir: r.dir, free: r.free, watermark: r.watermark }, LOG.recordingsSpaceRestored);
      void audit.append('recordings.space_restored', 'system', { dir: r.dir, free: r.free, total: r.total, watermark: r.watermark });
      events.emit('recordings.space_restored', spaceEvent(r));
    },
  }, opts.statVolume);
  metrics.gauge('portcullis_recordings_free_bytes', 'Free bytes on the recordings volume at the last check', () => recordingSpace.report.free);
  metrics.gauge('portcullis_recordings_space_low', '1 while the recordings volume is below its watermark (new sessions refused)', () => recordingSpace.isLow ? 1 : 0);
  const ephemeral = new EphemeralService({
    store, vault, creds, audit, clock, log, events, scheduler, adminLogins: opts.adminLogins ?? {}, statics: new StaticCredentials(creds, rotationTriggers),
    reconcileIntervalMs: parseDuration(config.ephemeral.reconcileInterval), dropAlertAfter: config.ephemeral.dropAlertAfter,
  });
  const ruleBook = new RuleBook(store);
  const rules = new RuleService({ store, audit, clock, book: ruleBook, bus, log });
  rules.attach();
  const risk = new RiskService({
    store, sink: new FlagSink({ store, audit, events, log, clock }), settings: riskSettings(config), log,
    recentFailures: (user) => throttle.recentFailures(user), failureWindowMs: parseDuration(config.logins.failureWindow),
  });
  pipeline = new SessionPipeline({
    recordingSpace, postClose, recordingBudgetBytes: parseSize(config.recordings.sessionBudget, 'recordings.sessionBudget'),
    authorizer: decidingAuthorizer(decider, store, clock), journal: storeJournal(store, audit, log, config.node, paths.recordings, { scheduler, clock }), credentials: ephemeral.credentials,
    spanSealer: () => recordingKeys.ready(), live, scheduler, clock, log, recordingsDir: paths.recordings, liveRecordings, gateRules: [new RuleGate(ruleBook)], risk,
    limits: {
      idleMs: {
        ssh: optionalDuration(config.ssh.idleTimeout), postgres: optionalDuration(config.postgres.idleTimeout),
        mysql: optionalDuration(config.mysql.idleTimeout), 'web-terminal': optionalDuration(config.webTerminal.idleTimeout),
      },
      maxSessionMs: optionalDuration(config.session.maxLength),
      pipeInputCap: config.ssh.pipeInputCap, pipeOutputCap: config.ssh.pipeOutputCap,
      connectMs: parseDuration(config.session.connectTimeout),
      recheckMs: recheckInterval(config, store),
    },
  });
  const cluster = new Cluster({
    store, audit, clock, scheduler, log, events, bus, live, throttle, recheckAll: (): Promise<void> => pipeline?.recheckAll() ?? Promise.resolve(),
    endAll: (reason): void => pipeline?.endAll(reason),
    node: config.node, heartbeatMs: parseDuration(config.cluster.heartbeatInterval), lostAfterMs: parseDuration(config.cluster.nodeLostAfter),
    lastRun: lastRunFile(paths.lastRun),
  });
  const discovery = new DiscoveryService({
    store, audit, clock, events, creds, adminLogins: opts.adminLogins ?? {},
    onCloseError: (target, err) => log.warn({ target, err }, LOG.discoveryCloseFailed),
  });
  // A standing privileged account is worth a line in the log as well as the audit entry and the webhook.
  events.on('discovery.unmanaged_found', (e) => log.warn({ target: e.target, account: e.account, privileges: e.privileges }, LOG.discoveryUnmanagedFound));
  const discoverySchedule = new DiscoverySchedule({
    discovery, store, clock, scheduler, events, intervalMs: discoveryInterval(config), claim,
    onFailure: (target, err) => log.warn({ target, error: err instanceof Error ? err.message : String(err) }, LOG.discoveryFailed),
  });
  const users = new UserService(ctx, vault);
  const authn = new Authenticator(ctx, vault, throttle, (reason) => loginRefusals({ reason }), passwordPolicy(config.oidc));
  const sso = new SsoService(config.oidc, config.oidc ? readClientSecret(config.oidc.client_secret_file) : null, {
    ctx, users, authn, vault, log, scheduler, claim, tokenTtlMs: parseDuration(config.api.tokenTtl),
  });
  const app: App = {
    config, paths, clock, log, store, audit, checkpoints, events, bus, cluster, nodeDirectory: new NodeDirectory(store, clock, config.node), scheduler, vault, creds, recordingKeys,
    reveals: new MaskedInputReveals(store, paths.recordings, recordingKeys, audit),
    users, authn, sso,
    sshCerts: new SshCertificateService(ctx, { dataDir: paths.root, hostKeyPath: paths.hostKey, ttlMs: parseDuration(config.ssh.certificateTtl) }, log),
    setup: new SetupService(ctx, users),
    targets: targetService(ctx, creds, ephemeral),
    policies, requests, grants,
    breakglass: new BreakglassService(ctx, policies, grants),
    links: new LinkService(ctx, policies, grants),
    handoffs: new HandoffService({ store, audit, clock, authn, tokenTtlMs: () => parseDuration(config.api.tokenTtl) }),
    decider,
    live,
    pipeline,
    sessions: new SessionCatalog(store),
    liveRecordings, recordingSpace, postClose,
    addresses: { url: publicUrl(config), sshHost: config.hostnames[0]!, sshPort: config.ssh.port, pgPort: config.postgres.port, mysqlPort: config.mysql.port },
    // With a shared store every node reloads the grants others made, and one node sends each notice.
    timers: new AccessTimers(ctx, scheduler, requests, { claim, reloadMs: store.kind === 'postgres' ? TIMER_RELOAD_MS : 0 }),
    ephemeral,
    notifier, metrics, rotation, rotationTriggers, discovery, discoverySchedule, rules,
    counters: { http: (l) => counters.http(l), authFailures: () => counters.authFailures(), webhookFailures: () => counters.webhookFailures() },
    close: async () => {
      loopDelay.disable();
      recordingSpace.stop();
      discoverySchedule.stop();
      sso.stop();
      // The last checkpoint goes out before the timers stop and the store closes under it.
      await checkpoints.stop();
      await ephemeral.stop();
      await notifier.drain(3000);
      await cluster.stop();
      scheduler.stop();
      await bus.close();
      await store.close();
    },
  };
  consoleUrl = (): string => app.addresses.url;
  return app;
}

interface AuditDeps {
  store: Store; vault: Vault; master: Buffer; clock: Clock; log: Logger; events: EventBus<AccessEvents>;
  scheduler: DeadlineScheduler; env: NodeJS.ProcessEnv;
}

/** The keyed audit chain and its signed checkpoints (files in the data dir, never in the store). */
function buildAudit(config: Config, paths: DataPaths, d: AuditDeps): { audit: AuditLog; checkpoints: AuditCheckpoints; auditKey: AuditKey } {
  const files = auditFiles(paths.root);
  const auditKey = AuditKey.load(paths.root, d.vault, d.master);
  const signingKey = ensureSigningKey(files);
  const persistKey = (): void => auditKey.persist(d.vault);
  const verifyKey = loadVerifyKey(files);
  const audit = new AuditLog(d.store, d.clock, auditKey, {
    onFailure: (code, err) => d.log.error({ code, err }, LOG.auditFailed),
    persistKey,
    checkpoints: { checkpoints: () => readLines(files.checkpoints), verifyKey, signingKeyText: verifyKey && publicKeyText(verifyKey) },
  });
  const checkpoints = new AuditCheckpoints({
    store: d.store, key: auditKey, signingKey, file: files.checkpoints, clock: d.clock, scheduler: d.scheduler,
    node: config.node, intervalMs: optionalDuration(config.audit.checkpointInterval), persistKey,
    notify: (n) => d.events.emit('audit.checkpoint', n),
    onError: (err) => d.log.error({ err }, LOG.auditCheckpointFailed),
    onTornTail: (bytes) => d.log.warn({ bytes }, LOG.auditCheckpointTornTail),
    onBehind: (at) => d.log.error(at, LOG.auditStoreBehindCheckpoint),
  });
  return { audit, checkpoints, auditKey };
}

/** Access timers reload the store's grants this often when several nodes share it. */
const TIMER_RELOAD_MS = 30_000;
/**
 * With several nodes the periodic recheck is the safety net for a cut announced on the bus but not
 * received (a NOTIFY lost without the listening connection dropping; a drop triggers a recheck at
 * once): at most 5 s, so a missed revoke still cuts within seconds. Each round reads the user,
 * target, grant and policy of every live session: 1,000 sessions cost ~1,000 light reads/s.
 */
const CLUSTER_RECHECK_MS = 5_000;

function recheckInterval(config: Config, store: Store): number {
  const configured = optionalDuration(config.session.recheckInterval);
  if (store.kind !== 'postgres' || configured === 0) return configured;
  return Math.min(configured, CLUSTER_RECHECK_MS);
}

/** Targets whose removal first drops their ephemeral accounts. */
function targetService(ctx: AccessContext, creds: CredentialVault, ephemeral: EphemeralService): TargetService {
  const targets = new TargetService(ctx, creds);
  targets.onRemove((actor, target, force) => ephemeral.beforeTargetRemoval(actor, target, force));
  return targets;
}

/** Webhook URLs (Slack's especially) carry a secret in the path: log only scheme and host. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '[invalid url]';
  }
}
