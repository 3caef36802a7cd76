// Break-glass: an immediate grant for emergencies, allowed only where a covering policy says so,
// with a mandatory reason, a capped duration, its own audit event and alert, and a review flag that
// stays until an approver accepts or denies it (denial cuts access at once, see GrantService.review).
import type { GrantRecord, UserRecord } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';
import type { AccessContext } from './context.js';
import type { GrantService } from './grants.js';
import { resolveLevel } from './levels.js';
import { requireText } from './names.js';
import type { PolicyService } from './policies.js';
import { grantView } from './views.js';

export class BreakglassService {
  constructor(private readonly ctx: AccessContext, private readonly policies: PolicyService, private readonly grants: GrantService) {}

  async use(user: UserRecord, targetName: string, reason: string | undefined, durationMs?: number, levelName?: string): Promise<GrantRecord> {
    const target = await this.ctx.store.targets.byName(targetName);
    if (!target) throw new PortcullisError('not-found', `no target "${targetName}"`);
    const why = requireText('reason', reason);
    const level = resolveLevel(target, levelName);
    const policy = (await this.policies.covering(user, target, level)).find((p) => p.breakglass);
    if (!policy) {
      await this.ctx.audit.append('request.refused', user.name, { user: user.name, target: targetName, code: 'no-policy', message: 'break-glass not allowed', level });
      throw new PortcullisError('no-policy', `no policy allows break-glass for ${user.name} on ${targetName} at level ${level}; request access instead (portcullis request)`);
    }
    const cap = this.ctx.settings.breakglassMaxMs;
    const duration = Math.min(durationMs ?? cap, cap);
    const g = await this.ctx.store.transaction(async () => {
      const grant = await this.grants.createInTx(user.name, {
        userId: user.id, targetId: target.id, durationMs: duration, reason: why, ticket: null, source: 'breakglass',
        policyId: policy.id, needsReview: true, level,
      });
      await this.ctx.audit.append('breakglass.used', user.name, { grant: grant.id, user: user.name, target: target.name, reason: why, expiresAt: grant.expiresAt, level });
      return grant;
    });
    await this.grants.publishCreated(g);
    this.ctx.events.emit('breakglass.used', { grant: await grantView(this.ctx.store, g, this.ctx.clock.now()) });
    return g;
  }
}
