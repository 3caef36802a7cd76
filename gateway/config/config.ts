// Configuration: defaults, then <data>/portcullis.yaml (or --config FILE), then PORTCULLIS_* env,
// then flags, in that order. Every key is typed here; unknown keys are an error so typos surface.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../util/duration.js';
import { PortcullisError } from '../util/errors.js';
import { parseSize } from '../util/size.js';
import { type RiskConfig, riskSettings } from '../risk/risk-settings.js';
import { type OidcConfig, oidcSettings } from '../identity/oidc-config.js';

export interface Config {
  data: string;
  listen: string;
  /**
   * The HTTPS listener. `origins`: web origins besides the gateway's own (its public URL and the
   * address a browser reached it at) whose pages may open WebSockets and send cookie-authenticated
   * changes, e.g. "https://pam.example.com" behind a reverse proxy. Anything else is refused (403).
   */
  http: { port: number; origins: string[] };
  /**
   * pipeInputCap: bytes a session may send to shells and commands without a terminal, each recorded
   * whole; more ends the session (input-cap-exceeded). pipeOutputCap: bytes of their casts' output
   * events (as stored); past it only byte counts and SHA-256. File transfers (sftp, scp, rsync) count for neither.
   */
  /** `certificateTtl`: the longest life of an SSH certificate `portcullis login` gets (never beyond the sign-in's own expiry). */
  ssh: { port: number; idleTimeout: string; authTimeout: string; maxPreAuth: number; pipeInputCap: number; pipeOutputCap: number; certificateTtl: string };
  postgres: { port: number; allowPlaintext: boolean; maxMessageBytes: number; handshakeTimeout: string; maxHandshakes: number; idleTimeout: string };
  mysql: { port: number; allowPlaintext: boolean; maxPacketBytes: number; handshakeTimeout: string; maxHandshakes: number; idleTimeout: string };
  /** The vendor browser terminal (one-time links). */
  webTerminal: { idleTimeout: string };
  /**
   * Limits every session has, whatever its protocol ("off" = none). `connectTimeout`: how long the
   * upstream leg (TCP connect, TLS, the target's greeting and login) may take before the client is
   * refused in protocol words (1s-60s). `recheckInterval`: how often every live session's access
   * is checked again from the store ("off" = never), for changes no event told this node about.
   */
  session: { maxLength: string; connectTimeout: string; recheckInterval: string };
  /**
   * Database statements (PostgreSQL and MySQL): the hard cap on one statement's text. Statements up
   * to it are recorded whole (long ones in a side file); a longer one is refused and the session ends.
   */
  statements: { maxBytes: number };
  /**
   * Guardrail rules. `maxParseBytes`: an SQL statement longer than this is not parsed (libpg-query
   * takes ~0.5 ms per KiB of INSERT VALUES): rules treat it as unparsable (rules/sql-matcher.ts).
   */
  rules: { maxParseBytes: number };
  /** Names and IPs the listener certificate is issued for. */
  hostnames: string[];
  /** Public URL clients use; defaults to https://<first hostname>:<http.port>. */
  publicUrl: string | null;
  expiry: { warnBefore: string };
  requests: { pendingTtl: string };
  breakglass: { max: string };
  webhooks: Array<{ url: string; events: string[] }>;
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent' };
  api: { tokenTtl: string };
  /**
   * Recording storage. `sessionBudget`: bytes one session's recording may take (all its files; a
   * size like 1GiB, or off). Below `minFree` bytes or `minFreePercent` percent free on the
   * recordings volume new sessions are refused, and live ones stop being recorded (ended when their
   * policy requires recording). `postCloseConcurrency`: keyframe/search-index jobs run at once after
   * sessions close (the rest wait in a queue).
   */
  recordings: { sessionBudget: string | number; minFree: string | number; minFreePercent: number; postCloseConcurrency: number; dir: string | null };
  /**
   * Where the state lives: null = SQLite in the data dir (one node); a postgres:// URL = a
   * PostgreSQL shared by every node of a cluster (DESIGN.md 3c).
   */
  store: string | null;
  /** This node's name in the cluster (unique among live nodes); default PORTCULLIS_NODE or the host name. */
  node: string;
  /**
   * Several nodes. `heartbeatInterval`: how often this node beats in the store. `nodeLostAfter`: a
   * node silent that long is lost; another node ends its sessions (node-lost) and raises an alert.
   */
  cluster: { heartbeatInterval: string; nodeLostAfter: string };
  /**
   * The audit log. `checkpointInterval`: how often a signed checkpoint of the chain's head is written
   * (to <data>/audit-checkpoints.ndjson and the webhooks) when the head moved; 'off' = only at start
   * and shutdown. A truncation of the newest entries is detectable only behind the last checkpoint.
   */
  audit: { checkpointInterval: string };
  /**
   * Discovery of privileged accounts on targets (gateway/provision/discovery.ts). `interval`: how
   * often every target whose kind has a provisioner is listed, one at a time ("off" or 0 = never;
   * `portcullis discover` still works); each new unmanaged privileged account raises an alert.
   */
  discovery: { interval: string };
  /**
   * Logins on every front end. `hashConcurrency`: password hashes at once, process-wide (each in a
   * worker thread of its own at the lowest CPU priority; libuv's thread pool is left to file
   * writes). `hashQueue`: logins waiting for a hash; more are refused at once. `addressHashRate` /
   * `addressHashBurst`: hashes one address may cost per second / at once. `addressConnectRate` /
   * `addressConnectBurst`: new PostgreSQL/MySQL connections per address, checked before TLS;
   * `connectRate`: the same for all addresses together (burst a fifth of that, at least 10). Failure budgets within
   * `failureWindow` (they drain over it), each locking for `lockout`: `pairFailures` for one name
   * from one address, `accountFailures` for one name from anywhere (password logins; keys still
   * work), `addressFailures` for one address (an IPv6 /64) under any name.
   */
  /**
   * Ephemeral accounts (targets with --credential ephemeral). `reconcileInterval`: how often every
   * live account is checked against its grant and dropped once the grant is over (also at start, at
   * each grant's end and on revocation). `dropAlertAfter`: failed drops of one account before the
   * `ephemeral.drop_failing` alert (once per account).
   */
  ephemeral: { reconcileInterval: string; dropAlertAfter: number };
  /**
   * Session risk (gateway/risk/): each flag kind's `weights` (0 turns the kind off; unnamed kinds
   * keep their default), `businessHours` ("mon-fri 08-19", UTC hours; "off" by default so a fresh
   * install flags nothing for the time of day), the user's usual hours learnt from their sessions
   * of the last `historyDays` once there are `historyMinSessions` of them, mass export over
   * `exportRows` rows returned or `exportBytes` sent to the client in one session, and
   * `failedLogins` failures of the user's name within logins.failureWindow before a session.
   */
  risk: RiskConfig;
  /** Single sign-on through an OpenID Connect provider (gateway/identity/oidc-config.ts); null: off. */
  oidc: OidcConfig | null;
  logins: {
    hashConcurrency: number; hashQueue: number; addressHashRate: number; addressHashBurst: number;
    addressConnectRate: number; addressConnectBurst: number; connectRate: number; pairFailures: number; accountFailures: number; addressFailures: number; failureWindow: string; lockout: string;
  };
}

export function defaultConfig(data: string): Config {
  return {
    data,
    listen: '127.0.0.1',
    http: { port: 8443, origins: [] },
    ssh: { port: 2222, idleTimeout: 'off', authTimeout: '30s', maxPreAuth: 256, pipeInputCap: 16 * 1024 * 1024, pipeOutputCap: 8 * 1024 * 1024, certificateTtl: '8h' },
    postgres: { port: 15432, allowPlaintext: false, maxMessageBytes: 256 * 1024 * 1024, handshakeTimeout: '30s', maxHandshakes: 256, idleTimeout: 'off' },
    mysql: { port: 13306, allowPlaintext: false, maxPacketBytes: 64 * 1024 * 1024, handshakeTimeout: '30s', maxHandshakes: 256, idleTimeout: 'off' },
    webTerminal: { idleTimeout: 'off' },
    session: { maxLength: 'off', connectTimeout: '10s', recheckInterval: '30s' },
    statements: { maxBytes: 16 * 1024 * 1024 },
    rules: { maxParseBytes: 128 * 1024 },
    hostnames: ['localhost', '127.0.0.1', '::1'],
    publicUrl: null,
    expiry: { warnBefore: '60s' },
    requests: { pendingTtl: '24h' },
    breakglass: { max: '1h' },
    webhooks: [],
    log: { level: 'info' },
    api: { tokenTtl: '12h' },
    recordings: { sessionBudget: '1GiB', minFree: '256MiB', minFreePercent: 1, postCloseConcurrency: 1, dir: null },
    store: null,
    node: hostname(),
    cluster: { heartbeatInterval: '1s', nodeLostAfter: '6s' },
    audit: { checkpointInterval: '60s' },
    ephemeral: { reconcileInterval: '15s', dropAlertAfter: 3 },
    discovery: { interval: '1h' },
    risk: { weights: {}, businessHours: 'off', historyDays: 30, historyMinSessions: 10, exportRows: 100_000, exportBytes: '256MiB', failedLogins: 3 },
    oidc: null,
    logins: {
      hashConcurrency: 2, hashQueue: 64, addressHashRate: 10, addressHashBurst: 20, addressConnectRate: 20, addressConnectBurst: 100,
      connectRate: 100,
      pairFailures: 5, accountFailures: 20, addressFailures: 50, failureWindow: '10m', lockout: '10m',
    },
  };
}

// Environment variables that override a key, with how to read them.
const ENV: Array<[string, (c: Config, v: string) => void]> = [
  ['PORTCULLIS_LISTEN', (c, v) => { c.listen = v; }],
  ['PORTCULLIS_HTTP_PORT', (c, v) => { c.http.port = port(v); }],
  ['PORTCULLIS_HTTP_ORIGINS', (c, v) => { c.http.origins = v.split(',').map((s) => s.trim()).filter(Boolean); }],
  ['PORTCULLIS_SSH_PORT', (c, v) => { c.ssh.port = port(v); }],
  ['PORTCULLIS_SSH_IDLE_TIMEOUT', (c, v) => { c.ssh.idleTimeout = v; }],
  ['PORTCULLIS_SSH_AUTH_TIMEOUT', (c, v) => { c.ssh.authTimeout = v; }],
  ['PORTCULLIS_SSH_PIPE_INPUT_CAP', (c, v) => { c.ssh.pipeInputCap = Number(v); }],
  ['PORTCULLIS_SSH_PIPE_OUTPUT_CAP', (c, v) => { c.ssh.pipeOutputCap = Number(v); }],
  ['PORTCULLIS_SSH_CERTIFICATE_TTL', (c, v) => { c.ssh.certificateTtl = v; }],
  ['PORTCULLIS_POSTGRES_PORT', (c, v) => { c.postgres.port = port(v); }],
  // Development only: lets clients connect without TLS (sslmode=disable).
  ['PORTCULLIS_POSTGRES_ALLOW_PLAINTEXT', (c, v) => { c.postgres.allowPlaintext = v === 'true' || v === '1'; }],
  ['PORTCULLIS_POSTGRES_IDLE_TIMEOUT', (c, v) => { c.postgres.idleTimeout = v; }],
  ['PORTCULLIS_MYSQL_PORT', (c, v) => { c.mysql.port = port(v); }],
  ['PORTCULLIS_MYSQL_IDLE_TIMEOUT', (c, v) => { c.mysql.idleTimeout = v; }],
  ['PORTCULLIS_WEB_TERMINAL_IDLE_TIMEOUT', (c, v) => { c.webTerminal.idleTimeout = v; }],
  ['PORTCULLIS_SESSION_MAX_LENGTH', (c, v) => { c.session.maxLength = v; }],
  ['PORTCULLIS_STATEMENT_MAX_BYTES', (c, v) => { c.statements.maxBytes = Number(v); }],
  ['PORTCULLIS_RULES_MAX_PARSE_BYTES', (c, v) => { c.rules.maxParseBytes = Number(v); }],
  ['PORTCULLIS_CONNECT_TIMEOUT', (c, v) => { c.session.connectTimeout = v; }],
  ['PORTCULLIS_SESSION_RECHECK_INTERVAL', (c, v) => { c.session.recheckInterval = v; }],
  ['PORTCULLIS_MYSQL_ALLOW_PLAINTEXT', (c, v) => { c.mysql.allowPlaintext = v === 'true' || v === '1'; }],
  ['PORTCULLIS_HOSTNAMES', (c, v) => { c.hostnames = v.split(',').map((s) => s.trim()).filter(Boolean); }],
  ['PORTCULLIS_PUBLIC_URL', (c, v) => { c.publicUrl = v; }],
  ['PORTCULLIS_WARN_BEFORE', (c, v) => { c.expiry.warnBefore = v; }],
  ['PORTCULLIS_WEBHOOK_URL', (c, v) => { c.webhooks = [{ url: v, events: [] }]; }],
  ['PORTCULLIS_STORE', (c, v) => { c.store = v; }],
  ['PORTCULLIS_NODE', (c, v) => { c.node = v; }],
  ['PORTCULLIS_RECORDINGS_DIR', (c, v) => { c.recordings.dir = v; }],
  ['PORTCULLIS_RECORDINGS_SESSION_BUDGET', (c, v) => { c.recordings.sessionBudget = v; }],
  ['PORTCULLIS_RECORDINGS_MIN_FREE', (c, v) => { c.recordings.minFree = v; }],
  ['PORTCULLIS_RECORDINGS_MIN_FREE_PERCENT', (c, v) => { c.recordings.minFreePercent = Number(v); }],
  ['PORTCULLIS_AUDIT_CHECKPOINT_INTERVAL', (c, v) => { c.audit.checkpointInterval = v; }],
  ['PORTCULLIS_EPHEMERAL_RECONCILE_INTERVAL', (c, v) => { c.ephemeral.reconcileInterval = v; }],
  ['PORTCULLIS_EPHEMERAL_DROP_ALERT_AFTER', (c, v) => { c.ephemeral.dropAlertAfter = Number(v); }],
  ['PORTCULLIS_DISCOVERY_INTERVAL', (c, v) => { c.discovery.interval = v; }],
  ['PORTCULLIS_LOGIN_HASH_CONCURRENCY', (c, v) => { c.logins.hashConcurrency = Number(v); }],
  ['PORTCULLIS_LOGIN_ADDRESS_HASH_RATE', (c, v) => { c.logins.addressHashRate = Number(v); }],
  ['PORTCULLIS_LOGIN_ADDRESS_CONNECT_RATE', (c, v) => { c.logins.addressConnectRate = Number(v); }],
  ['PORTCULLIS_LOGIN_CONNECT_RATE', (c, v) => { c.logins.connectRate = Number(v); }],
  ['PORTCULLIS_LOGIN_ACCOUNT_FAILURES', (c, v) => { c.logins.accountFailures = Number(v); }],
  ['PORTCULLIS_LOGIN_ADDRESS_FAILURES', (c, v) => { c.logins.addressFailures = Number(v); }],
  ['PORTCULLIS_RISK_BUSINESS_HOURS', (c, v) => { c.risk.businessHours = v; }],
  ['PORTCULLIS_RISK_EXPORT_ROWS', (c, v) => { c.risk.exportRows = Number(v); }],
  ['PORTCULLIS_RISK_EXPORT_BYTES', (c, v) => { c.risk.exportBytes = v; }],
  ['PORTCULLIS_LOG_LEVEL', (c, v) => { c.log.level = v as Config['log']['level']; }],
];

function port(v: unknown): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new PortcullisError('bad-request', `invalid port "${String(v)}"`);
  return n;
}

export interface ConfigSources {
  data: string;
  file?: string | undefined;
  env: NodeJS.ProcessEnv;
  flags?: Partial<Record<'listen' | 'http-port' | 'ssh-port' | 'postgres-port' | 'mysql-port' | 'store' | 'node', string>>;
}

export function loadConfig(src: ConfigSources): Config {
  const data = resolve(src.data);
  const c = defaultConfig(data);
  const file = src.file ?? join(data, 'portcullis.yaml');
  if (existsSync(file)) merge(c, parseYaml(readFileSync(file, 'utf8')) as unknown, file);
  else if (src.file) throw new PortcullisError('not-found', `config file ${src.file} does not exist`);
  for (const [name, apply] of ENV) {
    const v = src.env[name];
    if (v !== undefined && v !== '') apply(c, v);
  }
  const f = src.flags ?? {};
  if (f.listen) c.listen = f.listen;
  if (f['http-port']) c.http.port = port(f['http-port']);
  if (f['ssh-port']) c.ssh.port = port(f['ssh-port']);
  if (f['postgres-port']) c.postgres.port = port(f['postgres-port']);
  if (f['mysql-port']) c.mysql.port = port(f['mysql-port']);
  if (f.store) c.store = f.store;
  if (f.node) c.node = f.node;
  validate(c);
  return c;
}

function merge(c: Config, raw: unknown, where: string): void {
  if (raw === null || raw === undefined) return;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new PortcullisError('bad-request', `${where}: top level must be a mapping`);
  const target = c as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!(k in target) || k === 'data') throw new PortcullisError('bad-request', `${where}: unknown key "${k}"`);
    const cur = target[k];
    if (cur !== null && typeof cur === 'object' && !Array.isArray(cur)) {
      if (typeof v !== 'object' || v === null) throw new PortcullisError('bad-request', `${where}: "${k}" must be a mapping`);
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) {
        if (!(k2 in (cur as Record<string, unknown>))) throw new PortcullisError('bad-request', `${where}: unknown key "${k}.${k2}"`);
        (cur as Record<string, unknown>)[k2] = k2 === 'port' ? port(v2) : v2;
      }
    } else {
      target[k] = v;
    }
  }
}

function validate(c: Config): void {
  for (const d of [c.expiry.warnBefore, c.requests.pendingTtl, c.breakglass.max, c.api.tokenTtl, c.ssh.authTimeout, c.ssh.certificateTtl, c.postgres.handshakeTimeout, c.mysql.handshakeTimeout]) parseDuration(String(d));
  for (const d of [c.ssh.idleTimeout, c.postgres.idleTimeout, c.mysql.idleTimeout, c.webTerminal.idleTimeout, c.session.maxLength, c.session.recheckInterval, c.audit.checkpointInterval]) optionalDuration(String(d));
  discoveryInterval(c);
  validateCluster(c);
  const connect = parseDuration(String(c.session.connectTimeout));
  if (connect < 1000 || connect > 60_000) throw new PortcullisError('bad-request', 'session.connectTimeout must be between 1s and 60s');
  const maxStatement = c.statements.maxBytes;
  if (!Number.isInteger(maxStatement) || maxStatement < 1024 || maxStatement > 256 * 1024 * 1024) {
    throw new PortcullisError('bad-request', `statements.maxBytes must be a whole number of bytes from 1024 to ${256 * 1024 * 1024}`);
  }
  const maxParse = c.rules.maxParseBytes;
  if (!Number.isInteger(maxParse) || maxParse < 1024 || maxParse > 16 * 1024 * 1024) {
    throw new PortcullisError('bad-request', `rules.maxParseBytes must be a whole number of bytes from 1024 to ${16 * 1024 * 1024}`);
  }
  for (const [k, v] of [['ssh.pipeInputCap', c.ssh.pipeInputCap], ['ssh.pipeOutputCap', c.ssh.pipeOutputCap]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new PortcullisError('bad-request', `${k} must be a number of bytes`);
  }
  parseSize(c.recordings.sessionBudget, 'recordings.sessionBudget');
  parseSize(c.recordings.minFree, 'recordings.minFree');
  const pct = c.recordings.minFreePercent;
  if (typeof pct !== 'number' || !(pct >= 0 && pct < 100)) throw new PortcullisError('bad-request', 'recordings.minFreePercent must be a number from 0 to 99');
  const conc = c.recordings.postCloseConcurrency;
  if (!Number.isInteger(conc) || conc < 1 || conc > 16) throw new PortcullisError('bad-request', 'recordings.postCloseConcurrency must be a whole number from 1 to 16');
  if (!Array.isArray(c.http.origins) || !c.http.origins.every(isOrigin)) {
    throw new PortcullisError('bad-request', 'http.origins must list origins like "https://pam.example.com:8443" (scheme, host and port only)');
  }
  validateLogins(c.logins);
  riskSettings(c);
  c.oidc = oidcSettings(c.oidc);
  const reconcile = parseDuration(String(c.ephemeral.reconcileInterval));
  if (reconcile < 1000 || reconcile > 3_600_000) throw new PortcullisError('bad-request', 'ephemeral.reconcileInterval must be between 1s and 1h');
  const alertAfter = c.ephemeral.dropAlertAfter;
  if (!Number.isInteger(alertAfter) || alertAfter < 1 || alertAfter > 1000) throw new PortcullisError('bad-request', 'ephemeral.dropAlertAfter must be a whole number from 1 to 1000');
  if (!Array.isArray(c.hostnames) || c.hostnames.length === 0) throw new PortcullisError('bad-request', 'hostnames must list at least one name');
  for (const w of c.webhooks) {
    if (!w || typeof w.url !== 'string' || !/^https?:\/\//.test(w.url)) throw new PortcullisError('bad-request', 'each webhook needs an http(s) url');
    w.events = Array.isArray(w.events) ? w.events : [];
  }
}

function isOrigin(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    const u = new URL(v);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === v.toLowerCase().replace(/\/$/, '');
  } catch {
    return false;
  }
}

function validateCluster(c: Config): void {
  if (c.store !== null && (typeof c.store !== 'string' || !/^postgres(ql)?:\/\//.test(c.store))) {
    throw new PortcullisError('bad-request', 'store must be a postgres:// URL (leave it out for SQLite in the data dir)');
  }
  if (typeof c.node !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(c.node)) {
    throw new PortcullisError('bad-request', 'node must be 1-63 letters, digits, dots, dashes or underscores, starting with a letter or digit');
  }
  if (c.recordings.dir !== null && (typeof c.recordings.dir !== 'string' || c.recordings.dir === '')) throw new PortcullisError('bad-request', 'recordings.dir must be a directory path');
  const beat = parseDuration(String(c.cluster.heartbeatInterval));
  const lost = parseDuration(String(c.cluster.nodeLostAfter));
  if (beat < 100 || beat > 10_000) throw new PortcullisError('bad-request', 'cluster.heartbeatInterval must be between 100ms and 10s');
  if (lost < 3 * beat) throw new PortcullisError('bad-request', 'cluster.nodeLostAfter must be at least three heartbeat intervals');
}

function validateLogins(l: Config['logins']): void {
  const whole = (k: keyof Config['logins'], min: number, max: number): void => {
    const v = l[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new PortcullisError('bad-request', `logins.${k} must be a whole number from ${min} to ${max}`);
  };
  whole('hashConcurrency', 1, 16);
  whole('hashQueue', 0, 10_000);
  whole('addressHashBurst', 1, 10_000);
  whole('addressConnectBurst', 1, 100_000);
  whole('pairFailures', 1, 1000);
  whole('accountFailures', 1, 100_000);
  whole('addressFailures', 1, 100_000);
  for (const k of ['addressHashRate', 'addressConnectRate', 'connectRate'] as const) {
    const v = l[k];
    if (typeof v !== 'number' || !(v > 0 && v <= 100_000)) throw new PortcullisError('bad-request', `logins.${k} must be a number per second above 0`);
  }
  if (parseDuration(String(l.failureWindow)) < 1000) throw new PortcullisError('bad-request', 'logins.failureWindow must be at least 1s');
  parseDuration(String(l.lockout));
}

export function publicUrl(c: Config): string {
  if (c.publicUrl) return c.publicUrl;
  const host = c.hostnames[0]!;
  return `https://${host.includes(':') ? `[${host}]` : host}:${c.http.port}`;
}

/** discovery.interval in ms (0 = off): "0" counts as off too, and a run more often than every minute is refused. */
export function discoveryInterval(c: Pick<Config, 'discovery'>): number {
  const text = String(c.discovery.interval);
  const ms = text === '0' ? 0 : optionalDuration(text);
  if (ms !== 0 && ms < 60_000) throw new PortcullisError('bad-request', 'discovery.interval must be at least 1m (or off)');
  return ms;
}

/** A duration, or "off" (0). */
export function optionalDuration(text: string): number {
  return text === 'off' || text === '' ? 0 : parseDuration(String(text));
}
