// Grant and request deadlines that matter with or without a live session: the "grant expiring"
// notice, the "grant expired" audit entry, and expiry of pending requests. Uses the shared
// DeadlineScheduler; on start it loads what is already in the store.
import type { DeadlineScheduler } from '../util/deadline-scheduler.js';
import type { AccessContext } from './context.js';
import type { RequestService } from './requests.js';
import { type GrantView, grantView } from './views.js';

export class AccessTimers {
  constructor(private readonly ctx: AccessContext, private readonly scheduler: DeadlineScheduler, private readonly requests: RequestService) {}

  start(): void {
    const now = this.ctx.clock.now();
    for (const g of this.ctx.store.grants.active(now)) this.armGrant(grantView(this.ctx.store, g, now));
    for (const r of this.ctx.store.requests.list({ status: 'pending' })) this.armRequest(r.id, r.pendingUntil);
    this.ctx.events.on('grant.created', ({ grant }) => this.armGrant(grant));
    this.ctx.events.on('grant.extended', ({ grant }) => this.armGrant(grant));
    this.ctx.events.on('grant.revoked', ({ grant }) => {
      this.scheduler.delete(`grant-warn:${grant.id}`);
      this.scheduler.delete(`grant-end:${grant.id}`);
    });
    this.ctx.events.on('request.created', ({ request }) => {
      if (request.status === 'pending') this.armRequest(request.id, Date.parse(request.pending_until));
    });
  }

  private armGrant(g: GrantView): void {
    const expiresAt = Date.parse(g.expires_at);
    const warnAt = expiresAt - this.ctx.settings.warnBeforeMs;
    if (warnAt > this.ctx.clock.now()) {
      this.scheduler.set(`grant-warn:${g.id}`, warnAt, () => {
        const cur = this.ctx.store.grants.byId(g.id);
        if (!cur || cur.revokedAt !== null || cur.expiresAt !== expiresAt) return;
        this.ctx.events.emit('grant.expiring', { grant: grantView(this.ctx.store, cur, this.ctx.clock.now()), inMs: cur.expiresAt - this.ctx.clock.now() });
      });
    }
    this.scheduler.set(`grant-end:${g.id}`, expiresAt, () => {
      const cur = this.ctx.store.grants.byId(g.id);
      if (!cur || cur.revokedAt !== null || cur.expiresAt > this.ctx.clock.now()) return;
      this.ctx.audit.append('grant.expired', 'system', { grant: cur.id });
      this.ctx.events.emit('grant.expired', { grant: grantView(this.ctx.store, cur, this.ctx.clock.now()) });
    });
  }

  private armRequest(id: string, at: number): void {
    // expireOverdue audits and publishes each request it expires; decided requests are left alone.
    this.scheduler.set(`request:${id}`, at, () => { this.requests.expireOverdue(); });
  }
}
