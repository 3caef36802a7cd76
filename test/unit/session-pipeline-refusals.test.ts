// The session pipeline, in process (test/support/pipeline-fixture.ts): refusals before relaying
// (unreachable, silent, denied, access ended while logging in), shutdown while starting, revoke
// failures, the gate, and access taken away while a session runs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { type Credentials, type IssuedCredential, StaticCredentials } from '../../gateway/session/credentials.js';
import type { GateRule } from '../../gateway/session/gate.js';
import type { SessionJournal } from '../../gateway/session/ports.js';
import { decidingAuthorizer, storeJournal } from '../../gateway/session/store-ports.js';
import type { UserRecord } from '../../gateway/store/records.js';
import { TestAdapter, tracingCredentials, tracingJournal } from '../support/pipeline-tracing.js';
import { auditCodes, begin, endsWith, MIN, pipeline, pipelineState, usePipelineApp, waitUntil } from '../support/pipeline-fixture.js';
import type { TestApp } from '../support/test-app.js';

usePipelineApp();
let t: TestApp;
let steps: string[];
let ops: UserRecord;
beforeEach(() => ({ t, steps, ops } = pipelineState));

describe('the session pipeline: refusals, the gate and access taken away', () => {
  it('refuses, revokes and seals when the target cannot be reached', async () => {
    const { p, creds } = pipeline();
    const adapter = new TestAdapter(steps, ops);
    adapter.failConnect = true;
    expect(await p.start(adapter)).toBeNull();
    await waitUntil(() => steps.includes('journal.index'));
    expect(steps).toEqual([
      'adapter.identify', 'journal.started', 'recording.open', 'credentials.issue', 'adapter.connect',
      'journal.upstream_failed:unreachable', 'adapter.refuse:upstream', 'journal.statements:0', 'journal.ended:upstream-failed',
      'credentials.revoke', 'recording.end:upstream-failed', 'journal.index',
    ]);
    expect(creds.revoked).toHaveLength(1);
  });

  it('refuses in time when the target accepts and never answers (connect timeout), drops the half-open leg, and holds no other session', async () => {
    const { p, creds } = pipeline({ limits: { idleMs: { ssh: 0, postgres: 0, mysql: 0, 'web-terminal': 0 }, maxSessionMs: 0, connectMs: 10_000 } });
    let refusal = '';
    let answer: (u: { open: boolean }) => void = () => {};
    const silent = new (class extends TestAdapter {
      override connect(ctx: Parameters<TestAdapter['connect']>[0], credential: Parameters<TestAdapter['connect']>[1]): Promise<{ open: boolean }> {
        void super.connect(ctx, credential);
        return new Promise((r) => { answer = r; });
      }
      override refuse(r: Parameters<TestAdapter['refuse']>[0]): void {
        super.refuse(r);
        if (r.kind === 'upstream') refusal = `${r.failure.kind}: ${r.failure.message}`;
      }
    })(steps, ops);
    const pending = p.start(silent);
    await waitUntil(() => steps.includes('adapter.connect'));
    // Another client of the same target logs in and relays meanwhile.
    const other = new TestAdapter([], ops);
    const handle = await p.start(other);
    expect(handle).not.toBeNull();
    t.clock.advance(9_999);
    expect(steps).not.toContain('adapter.refuse:upstream');
    t.clock.advance(1);
    expect(await pending).toBeNull();
    expect(refusal).toMatch(/^timeout: db01 did not complete the connection within 10 s \(connect timeout\)/);
    expect(silent.ctx!.signal.aborted).toBe(true);
    await waitUntil(() => steps.includes('journal.index'));
    expect(steps).toContain('journal.upstream_failed:timeout');
    expect(steps).toContain('journal.ended:upstream-failed');
    // The target answers late: that upstream is dropped, never relayed.
    const late = { open: true };
    answer(late);
    await waitUntil(() => !late.open);
    expect(creds.revoked.length).toBeGreaterThanOrEqual(1);
    expect(handle!.isEnded).toBe(false);
    handle!.terminate('closed-by-client');
  });

  it('refuses without a session when the decider says no', async () => {
    const { p, creds } = pipeline();
    const adapter = new TestAdapter(steps, ops, 'no-such-db');
    expect(await p.start(adapter)).toBeNull();
    expect(steps).toEqual(['adapter.identify', 'adapter.refuse:access']);
    expect(creds.revoked).toHaveLength(0);
    expect((await auditCodes()).at(-1)).toBe('access.denied');
  });

  it('refuses and releases the upstream when access ended while logging in', async () => {
    const gate: Credentials = tracingCredentials(new StaticCredentials(t.app.creds), steps);
    let release: () => void = () => {};
    const slow: Credentials & { revoked: IssuedCredential[] } = {
      revoked: [],
      issue: async (g, target) => { const c = await gate.issue(g, target); await new Promise<void>((r) => { release = r; }); return c; },
      revoke: async (c) => { slow.revoked.push(c); await gate.revoke(c); },
    };
    const { p } = pipeline({}, slow);
    const adapter = new TestAdapter(steps, ops);
    const started = p.start(adapter);
    await waitUntil(() => steps.includes('credentials.issue'));
    await t.app.grants.revoke(t.admin, (await t.app.grants.list({ active: true }))[0]!.id, 'done');
    expect(steps).toContain('adapter.refuse:access');
    release();
    expect(await started).toBeNull();
    await waitUntil(() => steps.includes('journal.index'));
    expect(steps).not.toContain('adapter.connect');
    expect(slow.revoked).toHaveLength(1);
  });

  it('ends a session still writing its start at gateway shutdown: refused, one session.ended after session.started, never relayed', async () => {
    let release: () => void = () => {};
    const inner = tracingJournal(storeJournal(t.app.store, t.app.audit, t.app.log), steps);
    const journal: SessionJournal = { ...inner, started: async (s) => { await new Promise<void>((r) => { release = r; }); await inner.started(s); } };
    const { p, creds } = pipeline({ journal });
    const adapter = new TestAdapter(steps, ops);
    const started = p.start(adapter);
    await waitUntil(() => steps.includes('adapter.identify'));
    await new Promise((r) => setTimeout(r, 10));
    const drained = p.shutdown(5_000);
    expect(steps).toContain('adapter.refuse:access');
    release();
    expect(await started).toBeNull();
    await drained;
    expect(steps).toEqual(['adapter.identify', 'adapter.refuse:access', 'journal.started', 'journal.statements:0', 'journal.ended:gateway-shutdown']);
    expect(steps).not.toContain('adapter.connect');
    expect(creds.revoked).toHaveLength(0);
    expect(t.app.live.size).toBe(0);
    const codes = await auditCodes();
    expect(codes.filter((c) => c === 'session.ended')).toHaveLength(1);
    expect(codes.indexOf('session.started')).toBeLessThan(codes.indexOf('session.ended'));
  });

  it('ends a session logging in upstream at gateway shutdown, revokes and seals before shutdown resolves, and refuses new ones', async () => {
    let release: () => void = () => {};
    const inner = tracingCredentials(new StaticCredentials(t.app.creds), steps);
    const slow: Credentials & { revoked: IssuedCredential[] } = {
      revoked: inner.revoked,
      issue: async (g, target) => { const c = await inner.issue(g, target); await new Promise<void>((r) => { release = r; }); return c; },
      revoke: (c) => inner.revoke(c),
    };
    const { p } = pipeline({}, slow);
    const started = p.start(new TestAdapter(steps, ops));
    await waitUntil(() => steps.includes('credentials.issue'));
    let done = false;
    const drained = p.shutdown(5_000).then(() => { done = true; });
    await new Promise((r) => setTimeout(r, 20));
    // Shutdown waits for the credential (still being issued) to be revoked and the recording sealed.
    expect(done).toBe(false);
    release();
    await drained;
    expect(await started).toBeNull();
    expect(steps.slice(-4)).toEqual(['journal.ended:gateway-shutdown', 'credentials.revoke', 'recording.end:gateway-shutdown', 'journal.index']);
    expect(slow.revoked).toHaveLength(1);
    const late: string[] = [];
    expect(await p.start(new TestAdapter(late, ops))).toBeNull();
    expect(late).toEqual(['adapter.identify', 'adapter.refuse:access']);
  });

  it('logs and audits a credential that could not be revoked, and still seals the recording', async () => {
    const { p, creds } = pipeline({}, tracingCredentials(new StaticCredentials(t.app.creds), steps, { failRevoke: true }));
    const adapter = new TestAdapter(steps, ops);
    const handle = (await p.start(adapter))!;
    adapter.ctx!.ended('closed-by-client');
    await handle.settled;
    expect(creds.revoked).toHaveLength(1);
    expect(steps.slice(-4)).toEqual(['credentials.revoke', 'journal.revoke_failed', 'recording.end:closed-by-client', 'journal.index']);
    expect((await auditCodes())).toContain('credential.revoke_failed');
  });

  it('passes commands through the gate: allow by default, deny and flag recorded and audited', async () => {
    const rules: GateRule[] = [{
      name: 'no-drop', check: (cmd) => (cmd.kind === 'sql' && /drop/i.test(cmd.text) ? { verdict: 'deny', message: 'DROP is not allowed', rule: 'no-drop' }
        : cmd.kind === 'sql' && /delete/i.test(cmd.text) ? { verdict: 'flag', label: 'delete', rule: 'no-drop' } : null),
    }];
    const { adapter, id, settled } = await begin({ gateRules: rules });
    expect(adapter.ctx!.gatePassThrough).toBe(false);
    expect(adapter.statement('select 1')).toBe('allow');
    expect(adapter.statement('DROP TABLE orders')).toBe('deny');
    expect(adapter.statement('delete from orders')).toBe('flag');
    adapter.ctx!.ended('closed-by-client');
    await settled;
    const events = readFileSync(join(t.app.paths.recordings, id, 'events.ndjson'), 'utf8');
    expect(events).toMatch(/"kind":"gate","verdict":"deny","rule":"no-drop","command":"simple: DROP TABLE orders"/);
    expect(events).toMatch(/"kind":"gate","verdict":"flag"/);
    expect(steps.filter((s) => s.startsWith('journal.gated'))).toEqual(['journal.gated:deny', 'journal.gated:flag']);
  });
  it('refuses, fail-closed, a command a gate rule throws on, and the session goes on', async () => {
    const rules: GateRule[] = [{ name: 'buggy', check: () => { throw new Error('bug in a rule'); } }];
    const { adapter, settled } = await begin({ gateRules: rules });
    expect(adapter.statement('select 1')).toBe('deny');
    expect(steps.at(-1)).toBe('journal.gated:deny');
    adapter.ctx!.ended('closed-by-client');
    expect(await settled).toBe('closed-by-client');
  });
  it('ends at once when the user is disabled, and refuses a login that was under way when it happened', async () => {
    await endsWith('user-disabled', async () => { await t.app.users.setDisabled('admin', 'ops', true); });
    await t.app.users.setDisabled('admin', 'ops', false);
    // Disabling revoked the grant too; enabling gives none back.
    expect(await t.app.grants.list({ active: true })).toEqual([]);
    await t.app.grants.adminGrant(t.admin, 'ops', 'db01', 30 * MIN, 'maintenance', null);
    steps = pipelineState.steps = [];
    let release: (() => void) | null = null;
    const inner = tracingJournal(storeJournal(t.app.store, t.app.audit, t.app.log), steps);
    const journal: SessionJournal = { ...inner, started: async (s) => { await new Promise<void>((r) => { release = r; }); await inner.started(s); } };
    const { p, creds } = pipeline({ journal });
    const started = p.start(new TestAdapter(steps, ops));
    // Authorized, and the session row is being written (not before: the authorization would refuse).
    await waitUntil(() => release !== null);
    // Disabled while the session row is being written: the live registry does not know it yet.
    await t.app.users.setDisabled('admin', 'ops', true);
    (release as (() => void) | null)?.();
    expect(await started).toBeNull();
    await waitUntil(() => steps.includes('journal.index'));
    expect(steps).toContain('adapter.release');
    expect(steps).toContain('journal.ended:user-disabled');
    expect(steps).not.toContain('adapter.relay');
    expect(creds.revoked).toHaveLength(1);
  });

  it('ends with the reason of what took access away: user removed, target removed', async () => {
    await endsWith('user-removed', async () => { await t.app.users.remove('admin', 'ops'); });
    ops = pipelineState.ops = await t.user('ops', ['ops']);
    await t.app.grants.adminGrant(t.admin, 'ops', 'db01', 30 * MIN, 'maintenance', null);
    steps = pipelineState.steps = [];
    await endsWith('target-removed', async () => { await t.app.targets.remove('admin', 'db01'); });
  });

  it('authorizes every new channel again from the store: a change no event announced (another node) refuses it and ends the session with its reason', async () => {
    const { adapter, settled } = await begin();
    expect(await adapter.ctx!.reauthorize('channel')).toBeNull();
    // Written straight to the store: the live registry hears nothing, as when another node disables the user.
    await t.app.store.users.update({ ...ops, disabled: true });
    expect(await adapter.ctx!.reauthorize('channel')).toMatch(/account was disabled/);
    expect(await settled).toBe('user-disabled');
    expect(steps).toContain('adapter.close:user-disabled');
    expect(await adapter.ctx!.reauthorize('forward')).toMatch(/disabled/);
  });

  it('checks every relaying session again each recheck interval: a change no event announced ends it within one interval', async () => {
    const limits = { idleMs: { ssh: 0, postgres: 0, mysql: 0, 'web-terminal': 0 }, maxSessionMs: 0, recheckMs: 30_000 };
    const { adapter, settled } = await begin({ limits });
    t.clock.advance(30_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(adapter.ctx!.signal.aborted).toBe(false);
    // Another node revokes the grant: this node hears nothing.
    const g = (await t.app.grants.list({ active: true }))[0]!;
    await t.app.store.grants.update({ ...g, revokedAt: t.clock.now(), revokedBy: null, revokeReason: 'elsewhere' });
    t.clock.advance(29_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(adapter.ctx!.signal.aborted).toBe(false);
    t.clock.advance(1_000);
    expect(await settled).toBe('grant-revoked');
  });

  it('refuses a channel on a re-pointed target (target-changed), and only the channel when the check itself fails', async () => {
    const real = decidingAuthorizer(t.app.decider, t.app.store, t.app.clock);
    let storeDown = false;
    const { adapter, settled } = await begin({
      authorizer: { ...real, stillValid: (a) => (storeDown ? Promise.reject(new Error('store down')) : real.stillValid(a)) },
    });
    storeDown = true;
    expect(await adapter.ctx!.reauthorize('channel')).toBe('access check failed; try again');
    expect(steps).not.toContain('adapter.close:adapter-error');
    adapter.ctx!.ended('closed-by-client');
    expect(await settled).toBe('closed-by-client');
    steps = pipelineState.steps = [];
    const second = await begin();
    const target = (await t.app.store.targets.byName('db01'))!;
    await t.app.store.targets.update({ ...target, host: '203.0.113.9' });
    expect(await second.adapter.ctx!.reauthorize('channel')).toMatch(/was changed by a Portcullis admin/);
    expect(await second.settled).toBe('target-changed');
  });

  it('refuses a new forward, and keeps the session, once the policy no longer allows port forwarding', async () => {
    await t.app.policies.add('admin', {
      name: 'dba', roles: ['ops'], targets: ['db01'], targetTags: [], maxDurationMs: 60 * MIN, requireReason: true, ticketPattern: null,
      approvalsRequired: 0, approverRoles: [], autoApprove: { roles: [], days: [], fromHour: null, toHour: null, onCall: [] }, breakglass: false,
      recordKeystrokes: true, allowPortForwarding: true, captureFullOutput: false, recordingRequired: true, allowLinks: false, levels: [],
    });
    for (const g of await t.app.grants.list({ active: true })) await t.app.grants.revoke(t.admin, g.id, 'use the policy');
    await t.app.requests.create(ops, { target: 'db01', durationMs: 30 * MIN, reason: 'r' });
    const { adapter, settled } = await begin();
    expect(await adapter.ctx!.reauthorize('forward')).toBeNull();
    const p = (await t.app.store.policies.byName('dba'))!;
    await t.app.policies.replace('admin', 'dba', { ...p, allowPortForwarding: false });
    expect(await adapter.ctx!.reauthorize('forward')).toBe('port forwarding is no longer allowed by policy dba');
    expect(await adapter.ctx!.reauthorize('channel')).toBeNull();
    await t.app.policies.replace('admin', 'dba', { ...p, roles: ['dba'] });
    expect(await settled).toBe('policy-narrowed');
  });
});
