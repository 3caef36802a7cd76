// Typed messages between the nodes of a cluster, over the store's notifications (PostgreSQL
// LISTEN/NOTIFY; one SQLite node only hears itself). Each message carries its sender; a node ignores
// its own, because it already acted on the local event that made it publish. Delivery is best
// effort: every receiver also reconciles from the store (pipeline recheck, node sweeper), and the
// bus reports when it stopped and started listening so a receiver can reconcile at once.
// Incoming payloads are untrusted text (anyone who can NOTIFY on the database can send one):
// parsed with a size limit, signature, freshness and replay checked (bus-seal.ts; the app always
// seals), checked field by field, dropped when anything is wrong. Drops are logged at most once per
// DROP_LOG_MS with their count, so a NOTIFY flood cannot fill the disk with log lines.
import type { StoreNotifications } from '../store/store.js';
import type { TerminationReason } from '../session/termination.js';
import { type Clock, systemClock } from '../util/clock.js';
import type { BusSeal } from './bus-seal.js';

/** What one node tells the others. `t` names the kind; every field is a plain string or number. */
export type ClusterMessage =
  /** A grant was revoked: end its sessions with this reason. */
  | { t: 'grant.revoked'; grant: string; reason: TerminationReason }
  /** A grant's end moved (extended or shortened): re-arm its sessions' expiry. */
  | { t: 'grant.deadline'; grant: string; expiresAt: number }
  /** A user was disabled or removed (by name): end every session of theirs. */
  | { t: 'user.ended'; user: string; reason: TerminationReason }
  /** A target was re-pointed or removed (by name): end its sessions. */
  | { t: 'target.ended'; target: string; reason: TerminationReason }
  /** End one session wherever it runs (admin kill from another node's API or console). */
  | { t: 'session.kill'; session: string; reason: TerminationReason; actor: string }
  /** A failed login, so every node's throttle counts it (user and address as the throttle keys them). */
  | { t: 'login.failed'; user: string; addr: string }
  /** A PostgreSQL CancelRequest landed on another node: the key's SHA-256 (hex), never the key itself. */
  | { t: 'pg.cancel'; key: string }
  /** A node was found lost and its sessions ended (for consoles and caches). */
  | { t: 'node.lost'; node: string }
  /** The guardrail rules changed: read them again from the store (the message says nothing else, so a forged one costs one read). */
  | { t: 'rules.changed' };

export type ClusterMessageType = ClusterMessage['t'];
type Of<T extends ClusterMessageType> = Extract<ClusterMessage, { t: T }>;

const MAX_PAYLOAD = 7000;
const DROP_LOG_MS = 10_000;

export interface BusLog {
  dropped(reason: string): void;
  handlerFailed(type: string, err: unknown): void;
}

export class ClusterBus {
  private readonly handlers = new Map<ClusterMessageType, Array<(m: ClusterMessage, from: string) => void>>();
  private readonly stateHandlers: Array<(listening: boolean) => void> = [];
  private stop: (() => Promise<void>) | null = null;
  private listeningNow = false;
  private dropsUnlogged = 0;
  private dropLoggedAt = -Infinity;

  /** Without a seal messages go unsigned (tests of the parsing only; buildApp always passes one). */
  constructor(
    private readonly notifications: StoreNotifications,
    readonly node: string,
    private readonly log: BusLog,
    private readonly seal?: BusSeal,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Starts listening; messages published before this resolves may be missed (reconcile after). */
  async start(): Promise<void> {
    if (this.stop) return;
    this.stop = await this.notifications.listen((p) => this.receive(p), (up) => {
      this.listeningNow = up;
      for (const h of this.stateHandlers) h(up);
    });
  }

  async close(): Promise<void> {
    const s = this.stop;
    this.stop = null;
    if (s) await s();
  }

  /** Whether the bus is listening now (false while the connection that listens is down). */
  get listening(): boolean {
    return this.listeningNow;
  }

  /** Sends to every other node. Rejects when the store cannot take it (callers decide whether that matters). */
  publish(m: ClusterMessage): Promise<void> {
    const body = JSON.stringify(m);
    return this.notifications.publish(this.seal ? this.seal.seal(this.node, body) : JSON.stringify({ from: this.node, m }));
  }

  /** Handles messages of one kind from other nodes. */
  on<T extends ClusterMessageType>(type: T, fn: (m: Of<T>, from: string) => void): void {
    const list = this.handlers.get(type) ?? [];
    list.push(fn as (m: ClusterMessage, from: string) => void);
    this.handlers.set(type, list);
  }

  /** Called with false when listening stopped (messages may be lost) and true when it resumed. */
  onListening(fn: (listening: boolean) => void): void {
    this.stateHandlers.push(fn);
  }

  private receive(payload: string): void {
    if (payload.length > MAX_PAYLOAD) return this.dropped('payload too large');
    const o = parseJson(payload);
    if (!isRecord(o) || typeof o.from !== 'string') return this.dropped('not a message');
    if (o.from === this.node) return;
    let from = o.from;
    let raw = o.m;
    if (this.seal) {
      const opened = this.seal.open(o);
      if (!opened.ok) return this.dropped(opened.reason);
      from = opened.from;
      raw = parseJson(opened.body);
    }
    const m = parseMessage(raw);
    if (!m) return this.dropped('malformed message');
    for (const h of this.handlers.get(m.t) ?? []) {
      try {
        h(m, from);
      } catch (err) {
        this.log.handlerFailed(m.t, err);
      }
    }
  }

  private dropped(reason: string): void {
    this.dropsUnlogged++;
    const now = this.clock.now();
    if (now - this.dropLoggedAt < DROP_LOG_MS) return;
    const n = this.dropsUnlogged;
    this.dropsUnlogged = 0;
    this.dropLoggedAt = now;
    this.log.dropped(n === 1 ? reason : `${reason} (and ${n - 1} more dropped since the last line)`);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 512;
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Field checks per kind; an unknown kind or a wrong field drops the message. */
function parseMessage(v: unknown): ClusterMessage | null {
  if (!isRecord(v) || typeof v.t !== 'string') return null;
  switch (v.t) {
    case 'grant.revoked': return str(v.grant) && str(v.reason) ? { t: v.t, grant: v.grant, reason: v.reason as TerminationReason } : null;
    case 'grant.deadline': return str(v.grant) && num(v.expiresAt) ? { t: v.t, grant: v.grant, expiresAt: v.expiresAt } : null;
    case 'user.ended': return str(v.user) && str(v.reason) ? { t: v.t, user: v.user, reason: v.reason as TerminationReason } : null;
    case 'target.ended': return str(v.target) && str(v.reason) ? { t: v.t, target: v.target, reason: v.reason as TerminationReason } : null;
    case 'session.kill': return str(v.session) && str(v.reason) && str(v.actor) ? { t: v.t, session: v.session, reason: v.reason as TerminationReason, actor: v.actor } : null;
    case 'login.failed': return str(v.user) && str(v.addr) ? { t: v.t, user: v.user, addr: v.addr } : null;
    case 'pg.cancel': return str(v.key) && /^[0-9a-f]{64}$/.test(v.key) ? { t: v.t, key: v.key } : null;
    case 'node.lost': return str(v.node) ? { t: v.t, node: v.node } : null;
    // No fields: anything else on it is dropped with the message, not ignored.
    case 'rules.changed': return Object.keys(v).length === 1 ? { t: v.t } : null;
    default: return null;
  }
}
