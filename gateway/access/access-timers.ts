// Grant and request deadlines that matter with or without a live session: the "grant expiring"
// notice, the "grant expired" audit entry, and expiry of pending requests. Uses the shared
// DeadlineScheduler; on start it loads what is already in the store.
// Several nodes: every node arms every grant (it reloads the store's active grants every
// `reloadMs`, so a grant made on another node is armed here too and a dead node's grants still
// expire), and the notice and the expiry are done by whichever node claims them first (`claim`,
// keyed by the grant and its end, so an extended grant is claimed again at its new end). Pending
// requests need no claim: expireOverdue re-checks each one in a transaction.
import type { DeadlineScheduler } from '../util/deadline-scheduler.js';
import type { AccessContext } from './context.js';
import type { RequestService } from './requests.js';
import { type GrantView, grantView } from './views.js';

export interface AccessTimerOptions {
  /** True for exactly one node per key (store.claims); default: always (one node). */
  claim?: (key: string) => Promise<boolean>;
  /** How often active grants and pending requests are loaded again from the store; 0: only at start. */
  reloadMs?: number;
}

const RELOAD_KEY = 'access-timers:reload';

export class AccessTimers {
  private readonly claim: (key: string) => Promise<boolean>;

  constructor(
    private readonly ctx: AccessContext, private readonly scheduler: DeadlineScheduler, private readonly requests: RequestService,
    private readonly opts: AccessTimerOptions = {},
  ) {
    this.claim = opts.claim ?? (() => Promise.resolve(true));
  }

  async start(): Promise<void> {
    this.ctx.events.on('grant.created', ({ grant }) => this.armGrant(grant));
    this.ctx.events.on('grant.extended', ({ grant }) => this.armGrant(grant));
    this.ctx.events.on('grant.revoked', ({ grant }) => {
      this.scheduler.delete(`grant-warn:${grant.id}`);
      this.scheduler.delete(`grant-end:${grant.id}`);
    });
    this.ctx.events.on('request.created', ({ request }) => {
      if (request.status === 'pending') this.armRequest(request.id, Date.parse(request.pending_until));
    });
    // Subscribed first, loaded second: a grant created while loading is armed either way (arming twice is harmless).
    await this.load();
    this.armReload();
  }

  private async load(): Promise<void> {
    const now = this.ctx.clock.now();
    for (const g of await this.ctx.store.grants.active(now)) this.armGrant(await grantView(this.ctx.store, g, now));
    for (const r of await this.ctx.store.requests.list({ status: 'pending' })) this.armRequest(r.id, r.pendingUntil);
  }

  private armReload(): void {
    const ms = this.opts.reloadMs ?? 0;
    if (ms <= 0) return;
    this.scheduler.set(RELOAD_KEY, this.ctx.clock.now() + ms, async () => {
      try {
        await this.load();
      } finally {
        this.armReload();
      }
    });
  }

  private armGrant(g: GrantView): void {
    const expiresAt = Date.parse(g.expires_at);
    const warnAt = expiresAt - this.ctx.settings.warnBeforeMs;
    if (warnAt > this.ctx.clock.now()) {
      this.scheduler.set(`grant-warn:${g.id}`, warnAt, async () => {
        const cur = await this.ctx.store.grants.byId(g.id);
        if (!cur || cur.revokedAt !== null || cur.expiresAt !== expiresAt) return;
        if (!(await this.claim(`grant-warn:${g.id}:${expiresAt}`))) return;
        const view = await grantView(this.ctx.store, cur, this.ctx.clock.now());
        this.ctx.events.emit('grant.expiring', { grant: view, inMs: cur.expiresAt - this.ctx.clock.now() });
      });
    }
    this.scheduler.set(`grant-end:${g.id}`, expiresAt, async () => {
      const cur = await this.ctx.store.grants.byId(g.id);
      if (!cur || cur.revokedAt !== null || cur.expiresAt > this.ctx.clock.now()) return;
      if (!(await this.claim(`grant-end:${cur.id}:${cur.expiresAt}`))) return;
      await this.ctx.audit.append('grant.expired', 'system', { grant: cur.id });
      this.ctx.events.emit('grant.expired', { grant: await grantView(this.ctx.store, cur, this.ctx.clock.now()) });
    });
  }

  private armRequest(id: string, at: number): void {
    // expireOverdue audits and publishes each request it expires; decided requests are left alone.
    this.scheduler.set(`request:${id}`, at, async () => { await this.requests.expireOverdue(); });
  }
}
