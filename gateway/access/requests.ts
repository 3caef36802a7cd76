// Access requests: create (validated against the covering policies), approve (N distinct approvers,
// never the requester), deny, and expiry of pending requests. Approval creates the grant, whose
// clock starts then.
import { type GrantRecord, type PolicyRecord, type RequestRecord, type TargetRecord, type TicketCheckResult, type UserRecord } from '../store/records.js';
import { formatDuration } from '../util/duration.js';
import { PortcullisError } from '../util/errors.js';
import { newId } from '../util/ids.js';
import type { AccessContext } from './context.js';
import { type GrantService, isPrivileged } from './grants.js';
import { levelNames, resolveLevel } from './levels.js';
import { chooseFor } from './policy-choice.js';
import { requireText } from './names.js';
import { autoApproves, policyCovers, type PolicyService } from './policies.js';
import { TicketChecker } from './ticket-check.js';
import { ticketHttp } from './ticket-http.js';
import { type RequestView, requestView } from './views.js';

/** A request refused by the ticket check; carries the answer for the audit entry. */
class TicketRefusal extends PortcullisError {
  constructor(code: 'ticket-invalid' | 'ticket-check-failed', message: string, readonly result: TicketCheckResult) {
    super(code, message);
  }
}

const hostOf = (url: string): string => {
  try {
    return new URL(url).host;
  } catch {
    return 'its URL';
  }
};

const REASON_MAX = 1000;
const TICKET_MAX = 200;
// eslint-disable-next-line no-control-regex
const TICKET_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/;

/**
 * A ticket is an id (INC-1234), not text: bounded before the policy's pattern runs on it (an
 * unanchored pattern such as [A-Z]+-\d+ is quadratic, and a 256 KiB ticket blocked the event loop
 * for minutes) and before it is sent to the ticket system, stored, audited and shown.
 */
function checkTicket(raw: string | undefined): string | null {
  const t = raw?.trim() || null;
  if (t === null) return null;
  if (t.length > TICKET_MAX) throw new PortcullisError('ticket-invalid', `the ticket is longer than ${TICKET_MAX} characters`);
  if (TICKET_UNSAFE.test(t)) throw new PortcullisError('ticket-invalid', 'the ticket contains control or invisible characters');
  return t;
}

export interface NewRequest {
  target: string;
  durationMs: number;
  reason?: string | undefined;
  ticket?: string | undefined;
  /** Default: the target's first (least privileged) level. */
  level?: string | undefined;
}

export class RequestService {
  constructor(
    private readonly ctx: AccessContext, private readonly policies: PolicyService, private readonly grants: GrantService,
    private readonly tickets: TicketChecker = new TicketChecker(ticketHttp, () => ctx.clock.now()),
  ) {}

  async create(user: UserRecord, input: NewRequest): Promise<RequestRecord> {
    try {
      return await this.createUnchecked(user, input);
    } catch (err) {
      if (err instanceof PortcullisError) {
        const check = err instanceof TicketRefusal ? { ticketCheck: { valid: err.result.valid, reason: err.result.reason, url: err.result.url } } : {};
        await this.ctx.audit.append('request.refused', user.name, {
          user: user.name, target: input.target, code: err.code, message: err.message, ...(input.level ? { level: input.level } : {}), ...check,
        });
      }
      throw err;
    }
  }

  private async createUnchecked(user: UserRecord, input: NewRequest): Promise<RequestRecord> {
    const target = await this.ctx.store.targets.byName(input.target);
    if (!target) throw new PortcullisError('not-found', `no target "${input.target}"; see "portcullis target list"`);
    const level = resolveLevel(target, input.level);
    const policy = await this.choosePolicy(user, target, input, level);
    const reason = policy.requireReason ? requireText('reason', input.reason) : (input.reason ?? '').trim();
    if (reason.length > REASON_MAX) throw new PortcullisError('bad-request', `reason is longer than ${REASON_MAX} characters`);
    const ticket = checkTicket(input.ticket);
    if (policy.ticketPattern !== null) {
      if (!ticket || !new RegExp(policy.ticketPattern).test(ticket)) {
        throw new PortcullisError('ticket-invalid', `policy ${policy.name} needs a ticket matching /${policy.ticketPattern}/ (--ticket)`);
      }
    }
    // Asked before anything is written (no transaction is held open across the network), and
    // before auto-approval: a policy that auto-approves still needs the ticket system's yes.
    const ticketCheck = policy.ticketCheck === null ? null : await this.checkTicket(policy, policy.ticketCheck, { ticket, user, target, level, reason });
    const now = this.ctx.clock.now();
    const auto = policy.approvalsRequired === 0 || autoApproves(policy.autoApprove, user, now);
    const req: RequestRecord = {
      id: newId('req'), userId: user.id, targetId: target.id, policyId: policy.id, durationMs: input.durationMs, level, reason, ticket,
      status: 'pending', createdAt: now, pendingUntil: now + this.ctx.settings.pendingTtlMs, decidedAt: null, decidedBy: null,
      denyReason: null, grantId: null, autoApproved: false, ticketCheck,
    };
    let grant: GrantRecord | null = null;
    const final = await this.ctx.store.transaction(async () => {
      await this.ctx.store.requests.insert(req);
      await this.ctx.audit.append('request.created', user.name, {
        request: req.id, user: user.name, target: target.name, duration: req.durationMs, reason, ticket, policy: policy.name, level,
        ...(ticketCheck ? { ticketCheck: { valid: ticketCheck.valid, reason: ticketCheck.reason, url: ticketCheck.url } } : {}),
      });
      if (!auto) return req;
      grant = await this.grants.createInTx('policy:' + policy.name, {
        userId: user.id, targetId: target.id, durationMs: req.durationMs, reason, ticket, source: 'request', requestId: req.id, policyId: policy.id, level,
      });
      const approved: RequestRecord = { ...req, status: 'approved', decidedAt: now, decidedBy: null, grantId: grant.id, autoApproved: true };
      await this.ctx.store.requests.update(approved);
      return approved;
    });
    this.ctx.events.emit('request.created', { request: await requestView(this.ctx.store, final) });
    if (grant) await this.grants.publishCreated(grant);
    return final;
  }

  private async checkTicket(
    policy: PolicyRecord, url: string, q: { ticket: string | null; user: UserRecord; target: TargetRecord; level: string; reason: string },
  ): Promise<TicketCheckResult> {
    if (!q.ticket) {
      throw new PortcullisError('ticket-invalid', `policy ${policy.name} checks tickets with the ticket system at ${hostOf(url)}: give the ticket with --ticket`);
    }
    const v = await this.tickets.check(url, { ticket: q.ticket, requester: q.user.name, target: q.target.name, level: q.level, reason: q.reason });
    if (v.ok) return v.result;
    // The system said no (ticket-invalid) or gave no usable answer (ticket-check-failed): both refuse.
    throw new TicketRefusal(v.code ?? 'ticket-check-failed', v.message, v.result);
  }

  /** The covering policy that allows this request, preferring auto-approval, then fewest approvals. */
  private async choosePolicy(user: UserRecord, target: TargetRecord, input: NewRequest, level: string): Promise<PolicyRecord> {
    const covering = await this.policies.covering(user, target, level);
    if (covering.length === 0) {
      // Say which levels could be asked for instead, when some policy covers another level.
      const others = target.levels.map((l) => l.name).filter((l) => l !== level);
      const open: string[] = [];
      for (const l of others) if ((await this.policies.covering(user, target, l)).length > 0) open.push(l);
      if (open.length > 0) {
        throw new PortcullisError('no-policy', `no policy lets ${user.name} request level ${level} of ${target.name}; ` +
          `levels you may request: ${open.join(', ')} (--level); ask an admin for a policy covering ${level} (portcullis policy add ... --levels ${level})`);
      }
      throw new PortcullisError('no-policy', `no policy lets ${user.name} request ${target.name}${target.levels.length > 1 ? ` (levels: ${levelNames(target)})` : ''}; ask an admin to add one (portcullis policy add)`);
    }
    // policy-choice.ts: the self-service catalog lists policies in this same order.
    const chosen = chooseFor(covering, user, this.ctx.clock.now(), input.durationMs);
    if (!chosen) {
      const max = Math.max(...covering.map((p) => p.maxDurationMs));
      throw new PortcullisError('duration-too-long', `at most ${formatDuration(max)} may be requested for ${target.name}; ask for --for ${formatDuration(max)} or less`);
    }
    return chosen;
  }

  /** The outward shape (names, approvals so far) for the API and webhooks. */
  view(r: RequestRecord): Promise<RequestView> {
    return requestView(this.ctx.store, r);
  }

  async get(id: string): Promise<RequestRecord> {
    const r = await this.ctx.store.requests.byId(id);
    if (!r) throw new PortcullisError('not-found', `no request "${id}"; see "portcullis requests"`);
    return r;
  }

  async list(filter: { pending?: boolean | undefined; userId?: string | undefined }): Promise<RequestRecord[]> {
    await this.expireOverdue();
    return this.ctx.store.requests.list({ status: filter.pending ? 'pending' : undefined, userId: filter.userId });
  }

  async approve(approver: UserRecord, id: string): Promise<RequestRecord> {
    const { policy } = await this.checkDecider(approver, id);
    const now = this.ctx.clock.now();
    let grant: GrantRecord | null = null;
    // Everything from reading the approvals so far to the grant in one transaction: two approvers
    // deciding at once must not both create a grant, nor one approver count twice.
    const final = await this.ctx.store.transaction(async () => {
      const req = await this.get(id);
      if (req.status !== 'pending') throw new PortcullisError('not-pending', `request ${id} is ${req.status}, not pending`);
      const prior = await this.ctx.store.approvals.forSubject(id, 'request');
      if (prior.some((a) => a.approverId === approver.id)) return 'duplicate' as const;
      const count = prior.length + 1;
      await this.ctx.store.approvals.insert({ subjectId: id, approverId: approver.id, kind: 'request', at: now });
      await this.ctx.audit.append('request.approved', approver.name, { request: id, approver: approver.name, approvals: count, needed: policy.approvalsRequired });
      if (count < policy.approvalsRequired) return req;
      // What the request stood on may have been taken away while it waited (user disabled or
      // removed, target or policy removed, policy narrowed): no grant comes out of it then.
      await this.stillGrantable(req);
      const approvers = [...prior.map((a) => a.approverId), approver.id];
      grant = await this.grants.createInTx(approver.name, {
        userId: req.userId, targetId: req.targetId, durationMs: req.durationMs, reason: req.reason, ticket: req.ticket,
        source: 'request', requestId: req.id, policyId: policy.id, approvers, level: req.level,
      });
      const approved: RequestRecord = { ...req, status: 'approved', decidedAt: now, decidedBy: approver.id, grantId: grant.id };
      await this.ctx.store.requests.update(approved);
      return approved;
    });
    if (final === 'duplicate') {
      await this.refuse(id, approver, 'duplicate-approval');
      throw new PortcullisError('duplicate-approval', `${approver.name} already approved ${id}; it needs a different approver`);
    }
    this.ctx.events.emit('request.approved', { request: await requestView(this.ctx.store, final), approver: approver.name });
    if (grant) await this.grants.publishCreated(grant);
    return final;
  }

  async deny(approver: UserRecord, id: string, reason: string): Promise<RequestRecord> {
    const why = requireText('reason', reason);
    await this.checkDecider(approver, id);
    const denied = await this.ctx.store.transaction(async () => {
      const req = await this.get(id);
      if (req.status !== 'pending') throw new PortcullisError('not-pending', `request ${id} is ${req.status}, not pending`);
      const rec: RequestRecord = { ...req, status: 'denied', decidedAt: this.ctx.clock.now(), decidedBy: approver.id, denyReason: why };
      await this.ctx.store.requests.update(rec);
      await this.ctx.audit.append('request.denied', approver.name, { request: id, approver: approver.name, reason: why });
      return rec;
    });
    this.ctx.events.emit('request.denied', { request: await requestView(this.ctx.store, denied), approver: approver.name, reason: why });
    return denied;
  }

  /** Marks pending requests past their pending window as expired. */
  async expireOverdue(): Promise<number> {
    const overdue = await this.ctx.store.requests.overdue(this.ctx.clock.now());
    let count = 0;
    for (const r of overdue) {
      // Each one re-checked in its own transaction: a concurrent approve or another expiry run may have decided it.
      const expired = await this.ctx.store.transaction(async () => {
        const cur = await this.ctx.store.requests.byId(r.id);
        if (cur?.status !== 'pending') return null;
        const rec: RequestRecord = { ...cur, status: 'expired', decidedAt: this.ctx.clock.now() };
        await this.ctx.store.requests.update(rec);
        await this.ctx.audit.append('request.expired', 'system', { request: r.id });
        return rec;
      });
      if (!expired) continue;
      count++;
      this.ctx.events.emit('request.expired', { request: await requestView(this.ctx.store, expired) });
    }
    return count;
  }

  private async stillGrantable(req: RequestRecord): Promise<void> {
    const [user, target, policy] = await Promise.all([
      this.ctx.store.users.byId(req.userId), this.ctx.store.targets.byId(req.targetId), this.ctx.store.policies.byId(req.policyId),
    ]);
    const why = !user || user.disabled ? `${user?.name ?? 'its user'} is disabled or removed`
      : !target ? 'its target was removed'
      : !policy ? 'its policy was removed'
      : !target.levels.some((l) => l.name === req.level) ? `${target.name} no longer has level ${req.level}`
      : !policyCovers(policy, user, target, req.level) ? `policy ${policy.name} no longer covers it`
      : null;
    if (why) throw new PortcullisError('conflict', `request ${req.id} can no longer be granted: ${why}`);
  }

  private async checkDecider(approver: UserRecord, id: string): Promise<{ req: RequestRecord; policy: PolicyRecord }> {
    await this.expireOverdue();
    const req = await this.get(id);
    if (req.status !== 'pending') throw new PortcullisError('not-pending', `request ${id} is ${req.status}, not pending`);
    if (req.userId === approver.id) {
      await this.refuse(id, approver, 'self-approval');
      throw new PortcullisError('self-approval', 'you cannot decide your own request; another approver must');
    }
    const policy = await this.ctx.store.policies.byId(req.policyId);
    if (!policy) throw new PortcullisError('conflict', `the policy of request ${id} was removed; the request cannot be approved`);
    if (!isPrivileged(approver, policy.approverRoles)) {
      await this.refuse(id, approver, 'not-approver');
      throw new PortcullisError('not-approver', `${approver.name} is not an approver for policy ${policy.name} (needs role: ${policy.approverRoles.join(' or ')})`);
    }
    return { req, policy };
  }

  private async refuse(subject: string, approver: UserRecord, code: string): Promise<void> {
    await this.ctx.audit.append('approval.refused', approver.name, { subject, approver: approver.name, code });
  }
}
