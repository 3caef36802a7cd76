// Webhook delivery. Subscribes to access events and POSTs JSON to each configured URL. Delivery is
// fire-and-forget from the caller's point of view: a slow or failing receiver never delays or
// blocks an access decision. Failed deliveries retry with exponential backoff (1 s, 2 s, 4 s, ...)
// on the shared scheduler; the queue is bounded and drops the oldest when full.
import type { AccessEvents } from '../access/events.js';
import type { Clock } from '../util/clock.js';
import type { DeadlineScheduler } from '../util/deadline-scheduler.js';
import type { EventBus } from '../util/event-bus.js';
import { newId } from '../util/ids.js';
import { type WebhookBody, type WebhookEvent, webhookLink, webhookText } from './messages.js';

export interface WebhookConfig {
  url: string;
  /** Events to send; empty means all. */
  events: string[];
}

export interface NotifierHooks {
  delivered(url: string, event: string): void;
  failed(url: string, event: string, attempt: number, error: string, final: boolean): void;
}

const MAX_ATTEMPTS = 6;
const BASE_DELAY_MS = 1000;
const MAX_PENDING = 1000;
const TIMEOUT_MS = 5000;

export type Poster = (url: string, body: string) => Promise<number>;

export const fetchPoster: Poster = async (url, body) => {
  const res = await fetch(url, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'error',
  });
  await res.body?.cancel();
  return res.status;
};

const ALL_EVENTS: WebhookEvent[] = [
  'request.created', 'request.approved', 'request.denied', 'request.expired', 'grant.created', 'grant.extended',
  'grant.revoked', 'grant.expiring', 'grant.expired', 'breakglass.used', 'breakglass.reviewed',
  'recordings.space_low', 'recordings.space_restored', 'audit.checkpoint', 'auth.locked',
  'ephemeral.drop_failing', 'ephemeral.abandoned',
  'credential.rotation_failed',
  'discovery.unmanaged_found', 'discovery.failed',
  'node.lost', 'session.flagged',
];

export class WebhookNotifier {
  private pending = new Set<string>();

  constructor(
    private readonly hooks: WebhookConfig[],
    private readonly clock: Clock,
    private readonly scheduler: DeadlineScheduler,
    private readonly report: NotifierHooks,
    private readonly post: Poster = fetchPoster,
    /** The web console's base URL, read when an event is sent (serve learns its bound port late); null: no links. */
    private readonly consoleUrl: () => string | null = () => null,
  ) {}

  subscribe(events: EventBus<AccessEvents>): void {
    if (this.hooks.length === 0) return;
    for (const ev of ALL_EVENTS) {
      events.on(ev, (payload) => this.enqueue(ev, payload));
    }
  }

  get queued(): number {
    return this.pending.size;
  }

  /**
   * Resolves once nothing is pending or after `ms` (shutdown: let the last checkpoint go out). Wall
   * time on purpose: it waits for network I/O and decides nothing.
   */
  async drain(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.pending.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  private enqueue<K extends WebhookEvent>(event: K, payload: AccessEvents[K]): void {
    const consoleUrl = this.consoleUrl();
    const url = webhookLink(event, payload, consoleUrl);
    const body: WebhookBody = {
      text: webhookText(event, payload, consoleUrl), event, at: new Date(this.clock.now()).toISOString(), data: payload, ...(url ? { url } : {}),
    };
    const json = JSON.stringify(body);
    for (const h of this.hooks) {
      if (h.events.length > 0 && !h.events.includes(event)) continue;
      if (this.pending.size >= MAX_PENDING) {
        const oldest = this.pending.values().next().value;
        if (oldest !== undefined) { this.pending.delete(oldest); this.scheduler.delete(oldest); }
      }
      const key = newId('wh');
      this.pending.add(key);
      this.attempt(key, h.url, event, json, 1);
    }
  }

  private attempt(key: string, url: string, event: string, json: string, n: number): void {
    this.post(url, json).then(
      (status) => {
        if (status >= 200 && status < 300) {
          this.pending.delete(key);
          this.report.delivered(url, event);
        } else {
          this.retry(key, url, event, json, n, `HTTP ${status}`);
        }
      },
      (err: unknown) => this.retry(key, url, event, json, n, err instanceof Error ? err.message : String(err)),
    );
  }

  private retry(key: string, url: string, event: string, json: string, n: number, error: string): void {
    const final = n >= MAX_ATTEMPTS || !this.pending.has(key);
    this.report.failed(url, event, n, error, final);
    if (final) {
      this.pending.delete(key);
      return;
    }
    this.scheduler.set(key, this.clock.now() + BASE_DELAY_MS * 2 ** (n - 1), () => this.attempt(key, url, event, json, n + 1));
  }
}
