// Issue 18 item 3, the API behind the self-service pages, through the real HTTPS server: the
// catalog offers exactly what a request allows (roles, levels, tags, durations, approval path,
// ticket), "My access" shows only the caller's own, and a grant is given back only by its user,
// which cuts its live sessions like a revoke. The webhook of a pending request links to it.
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewPolicy } from '../../gateway/access/policies.js';
import type { CatalogEntryView, GrantView, MyAccessView } from '../../gateway/api-types.js';
import type { LiveSessionHandle } from '../../gateway/session/live-sessions.js';
import type { TerminationReason } from '../../gateway/session/termination.js';
import type { UserRecord } from '../../gateway/store/records.js';
import { type ApiFixture, startApi } from '../support/api-fixture.js';
import { testApp, type TestApp } from '../support/test-app.js';

const policy = (over: Partial<NewPolicy> & Pick<NewPolicy, 'name'>): NewPolicy => ({
  roles: ['ops'], targets: [], targetTags: [], maxDurationMs: 2 * 3_600_000, requireReason: true,
  ticketPattern: null, approvalsRequired: 1, approverRoles: ['approver'], autoApprove: null, breakglass: false,
  recordKeystrokes: true, allowPortForwarding: false, captureFullOutput: false, recordingRequired: true, allowLinks: false, levels: [], ...over,
});

const MIN = 60_000;
let t: TestApp;
let api: ApiFixture;
const sent: Array<{ text: string; event: string; url?: string }> = [];
const tokens = new Map<string, string>();
const users = new Map<string, UserRecord>();

async function call<T>(who: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const u = new URL(api.url + path);
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method, ca: api.caPem,
      headers: { authorization: `Bearer ${tokens.get(who) ?? ''}`, ...(data ? { 'content-type': 'application/json' } : {}) },
    }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as T }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

beforeAll(async () => {
  t = await testApp({
    config: (c) => { c.webhooks = [{ url: 'http://hooks.invalid/x', events: [] }]; c.publicUrl = 'https://pam.example.com:8443'; },
    poster: (_u, body) => { sent.push(JSON.parse(body) as { text: string; event: string; url?: string }); return Promise.resolve(204); },
  });
  const add = (name: string, kind: 'ssh' | 'postgres' | 'mysql', extra: { tags?: string[]; levels?: Array<{ name: string; grants: string[] }>; database?: string } = {}): Promise<unknown> =>
    t.app.targets.add('admin', {
      name, kind, host: '127.0.0.1', account: 'acct', password: 'target-secret-1', ...(kind === 'ssh' ? { hostKey: 'SHA256:' + 'A'.repeat(43) } : {}), ...extra,
    });
  await add('web01', 'ssh', { tags: ['prod'] });
  await add('web02', 'ssh', { tags: ['prod', 'shop'] });
  await add('orders-db', 'postgres', { levels: [{ name: 'read', grants: [] }, { name: 'write', grants: [] }], database: 'orders' });
  await add('shop-db', 'mysql', { tags: ['shop'] });
  await add('secret01', 'ssh');
  const p = t.app.policies;
  await p.add('admin', policy({ name: 'ops-web-long', targets: ['web01'], ticketPattern: '^INC-[0-9]+$' }));
  await p.add('admin', policy({ name: 'ops-web-short', targets: ['web01'], maxDurationMs: 15 * MIN, approvalsRequired: 0, requireReason: false }));
  await p.add('admin', policy({ name: 'dba-read', roles: ['dba'], targets: ['orders-db'], levels: ['read'], approvalsRequired: 0, maxDurationMs: 60 * MIN }));
  await p.add('admin', policy({ name: 'dba-write', roles: ['dba'], targets: ['orders-db'], levels: ['write'], approvalsRequired: 2, approverRoles: ['security'], maxDurationMs: 30 * MIN }));
  await p.add('admin', policy({ name: 'shop-oncall', targetTags: ['shop'], maxDurationMs: 4 * 60 * MIN,
    autoApprove: { roles: [], days: [], fromHour: null, toHour: null, onCall: ['both'] } }));
  await p.add('admin', policy({ name: 'nothing-here', roles: ['dba'], targets: ['orders-db'], levels: ['admin'] }));
  for (const [name, roles] of [['ops', ['ops']], ['dba', ['dba']], ['both', ['ops', 'dba']], ['viewer', ['viewer']], ['alice', ['approver']], ['sec', ['security']]] as const) {
    const u = await t.user(name, [...roles]);
    users.set(name, u);
    tokens.set(name, (await t.app.authn.issueToken('admin', u, 'test', null)).token);
  }
  api = await startApi(t);
}, 60_000);

afterAll(async () => {
  await api?.close();
  await t?.close();
});

describe('the catalog', () => {
  it('offers exactly what a request allows: every (target, level, duration), the approval path and the ticket', async () => {
    const targets = await t.app.targets.list();
    const durations = [10 * MIN, 45 * MIN, 3 * 60 * MIN, 5 * 60 * MIN];
    let checked = 0;
    for (const who of ['ops', 'dba', 'both', 'viewer', 'alice']) {
      const user = users.get(who)!;
      const { status, body: catalog } = await call<CatalogEntryView[]>(who, 'GET', '/api/v1/catalog');
      expect(status).toBe(200);
      for (const target of targets) {
        for (const level of target.levels.map((l) => l.name).concat('admin')) {
          const entry = catalog.find((e) => e.target === target.name && e.level === level);
          for (const dur of durations) {
            const chosen = entry?.policies.find((p) => p.max_duration_s * 1000 >= dur);
            const ticket = chosen?.ticket_pattern ? 'INC-7' : undefined;
            let outcome: string;
            try {
              const r = await t.app.requests.create(user, { target: target.name, level, durationMs: dur, reason: 'because', ticket });
              const view = await t.app.requests.view(r);
              outcome = `ok ${view.policy} ${r.status === 'approved' ? 'auto' : 'pending'}`;
            } catch (e) {
              outcome = (e as { code: string }).code;
            }
            const expected = !entry ? (target.levels.some((l) => l.name === level) ? 'no-policy' : 'bad-request')
              : !chosen ? 'duration-too-long'
              : `ok ${chosen.name} ${chosen.auto_now ? 'auto' : 'pending'}`;
            expect(`${who} ${target.name}/${level} ${dur / MIN}m: ${outcome}`).toBe(`${who} ${target.name}/${level} ${dur / MIN}m: ${expected}`);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('shows each entry plainly: kind, tags, levels, policies in the order a request takes them', async () => {
    const ops = (await call<CatalogEntryView[]>('ops', 'GET', '/api/v1/catalog')).body;
    expect(ops.map((e) => `${e.target}/${e.level}`)).toEqual(['shop-db/default', 'web01/default', 'web02/default']);
    const web01 = ops.find((e) => e.target === 'web01')!;
    expect(web01).toMatchObject({ kind: 'ssh', tags: ['prod'], default_level: true, max_duration_s: 7200 });
    expect(web01.policies.map((p) => [p.name, p.auto_now, p.max_duration_s])).toEqual([['ops-web-short', true, 900], ['ops-web-long', false, 7200]]);
    expect(web01.policies[1]).toMatchObject({ ticket_pattern: '^INC-[0-9]+$', require_reason: true, approvals_required: 1, approver_roles: ['approver'], ticket_check: false, window: null });
    // On call: the same policy auto-approves for "both" and asks an approver for "ops".
    const both = (await call<CatalogEntryView[]>('both', 'GET', '/api/v1/catalog')).body;
    expect(both.find((e) => e.target === 'shop-db')!.policies[0]!.auto_now).toBe(true);
    expect(ops.find((e) => e.target === 'shop-db')!.policies[0]!.auto_now).toBe(false);
    const dba = (await call<CatalogEntryView[]>('dba', 'GET', '/api/v1/catalog')).body;
    expect(dba.map((e) => `${e.target}/${e.level}/${String(e.default_level)}`)).toEqual(['orders-db/read/true', 'orders-db/write/false']);
    // No target outside what a policy covers is named, not even to an approver.
    expect((await call<CatalogEntryView[]>('viewer', 'GET', '/api/v1/catalog')).body).toEqual([]);
    expect(JSON.stringify(ops)).not.toContain('secret01');
    expect(JSON.stringify(ops)).not.toContain('127.0.0.1');
  });

  it('never shows the ticket check URL, only that there is one', async () => {
    await t.app.policies.replace('admin', 'dba-read', policy({ name: 'dba-read', roles: ['dba'], targets: ['orders-db'], levels: ['read'], approvalsRequired: 0,
      maxDurationMs: 60 * MIN, ticketCheck: 'https://tickets.example.com/check?key=SECRET-KEY-1' }));
    const dba = (await call<CatalogEntryView[]>('dba', 'GET', '/api/v1/catalog')).body;
    expect(dba[0]!.policies[0]!.ticket_check).toBe(true);
    expect(JSON.stringify(dba)).not.toContain('SECRET-KEY-1');
    expect(JSON.stringify(dba)).not.toContain('tickets.example.com');
    await t.app.policies.replace('admin', 'dba-read', policy({ name: 'dba-read', roles: ['dba'], targets: ['orders-db'], levels: ['read'], approvalsRequired: 0, maxDurationMs: 60 * MIN }));
  });
});

describe('My access', () => {
  it('lists the caller\'s active grants with the line to connect, pending requests with who approves, and nothing of anyone else\'s', async () => {
    const dba = users.get('dba')!;
    const write = await t.app.requests.create(dba, { target: 'orders-db', level: 'write', durationMs: 20 * MIN, reason: 'migration' });
    expect(write.status).toBe('pending');
    await t.app.grants.adminGrant(t.admin, 'dba', 'shop-db', 10 * MIN, 'direct', null);
    const { body } = await call<MyAccessView>('dba', 'GET', '/api/v1/me/access');
    expect(body.user).toBe('dba');
    expect(new Set(body.grants.map((g) => g.user))).toEqual(new Set(['dba']));
    const read = body.grants.find((g) => g.target === 'orders-db' && g.level === 'read')!;
    expect(read.connect.command).toBe('psql "host=pam.example.com port=15432 user=dba+orders-db dbname=orders sslmode=require"');
    expect(read.connect.password).toBe('your Portcullis password');
    expect(read.seconds_left).toBeGreaterThan(0);
    expect(read.extend.approver_roles).toEqual(['admin', 'approver']);
    const shop = body.grants.find((g) => g.target === 'shop-db')!;
    expect(shop.connect.command).toBe('mysql -h pam.example.com -P 13306 -u dba+shop-db -p --ssl');
    const pending = body.pending.find((r) => r.id === write.id)!;
    expect(pending.approvers).toEqual({ roles: ['security'], needed: 2, names: ['sec'] });
    expect(body.pending.every((r) => r.user === 'dba')).toBe(true);
    // A grant at a level that is not the target's first names it in the line.
    await t.app.requests.approve(users.get('sec')!, write.id);
    const sec2 = await t.user('sec2', ['security']);
    await t.app.requests.approve(sec2, write.id);
    const after = (await call<MyAccessView>('dba', 'GET', '/api/v1/me/access')).body;
    expect(after.grants.find((g) => g.level === 'write')!.connect.command).toContain('user=dba+orders-db+write ');
    // Someone else sees none of it.
    const ops = (await call<MyAccessView>('ops', 'GET', '/api/v1/me/access')).body;
    expect(JSON.stringify(ops)).not.toContain('orders-db');
  });

  it('tells TOTP users to get a one-time database password, and gives ssh lines with the SSH port', async () => {
    await t.app.users.enrollTotp('admin', 'both', 'Portcullis');
    await t.app.grants.adminGrant(t.admin, 'both', 'orders-db', 10 * MIN, 'direct', null, 'write');
    await t.app.grants.adminGrant(t.admin, 'both', 'web02', 10 * MIN, 'direct', null);
    const { body } = await call<MyAccessView>('both', 'GET', '/api/v1/me/access');
    expect(body.grants.find((g) => g.target === 'orders-db')!.connect.password).toBe('a one-time password from: portcullis db-password orders-db');
    expect(body.grants.find((g) => g.target === 'web02')!.connect).toEqual({ command: 'ssh -p 2222 both+web02@pam.example.com', password: 'your Portcullis password, then your one-time code' });
  });
});

describe('giving a grant back', () => {
  it('is refused for anyone but the grant\'s user (answered as unknown), admins and approvers included', async () => {
    const g = await t.app.grants.adminGrant(t.admin, 'ops', 'web02', 30 * MIN, 'test', null);
    for (const who of ['dba', 'alice']) {
      const r = await call<{ error: { code: string; message: string } }>(who, 'POST', `/api/v1/grants/${g.id}/give-back`, {});
      expect(r.status).toBe(404);
      expect(r.body.error.message).not.toContain('ops');
    }
    const unknown = await call<{ error: { code: string; message: string } }>('dba', 'POST', '/api/v1/grants/grt_nope/give-back', {});
    expect(unknown.status).toBe(404);
    expect((await t.app.store.grants.byId(g.id))!.revokedAt).toBeNull();
    const anon = await new Promise<number>((resolve) => {
      const req = httpsRequest(`${api.url}/api/v1/grants/${g.id}/give-back`, { method: 'POST', ca: api.caPem }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.end();
    });
    expect(anon).toBe(401);
  });

  it('ends the grant now and cuts its live session, audited as given back by its user; a second time is refused', async () => {
    const ops = users.get('ops')!;
    const g = await t.app.grants.adminGrant(t.admin, 'ops', 'web01', 30 * MIN, 'test', null);
    const closed: TerminationReason[] = [];
    const h: LiveSessionHandle = {
      id: 'ses_give_back', protocol: 'ssh', user: 'ops', target: 'web01', grantId: g.id, clientAddr: '127.0.0.1',
      startedAt: t.clock.now(), expiresAt: g.expiresAt, warn: () => {}, close: (r) => closed.push(r),
    };
    t.app.live.register(h);
    const r = await call<GrantView>('ops', 'POST', `/api/v1/grants/${g.id}/give-back`, {});
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'revoked', revoked_by: 'ops', revoke_reason: 'given back' });
    expect(closed).toEqual(['grant-revoked']);
    // (ops holds other grants on web01 from the catalog test: this one is simply no longer among them.)
    const d = await t.app.decider.authorize(ops, 'web01', 'ssh', '127.0.0.1');
    expect(d.ok && d.auth.grant.id).not.toBe(g.id);
    const audit = (await t.app.audit.page(0, 10_000)).filter((e) => e.code === 'grant.revoked' && (e.data as { grant: string }).grant === g.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'ops', data: { by: 'ops', reason: 'given back' } });
    const again = await call<{ error: { code: string } }>('ops', 'POST', `/api/v1/grants/${g.id}/give-back`, {});
    expect(again.status).toBe(409);
    expect((await call<MyAccessView>('ops', 'GET', '/api/v1/me/access')).body.grants.some((x) => x.id === g.id)).toBe(false);
  });
});

describe('the webhook of a pending request', () => {
  it('links straight to the request in the console; an auto-approved one has no link', async () => {
    const flush = async (): Promise<void> => { for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r)); };
    sent.length = 0;
    const ops = users.get('ops')!;
    const pending = await t.app.requests.create(ops, { target: 'web01', durationMs: 60 * MIN, reason: 'deploy', ticket: 'INC-9' });
    const auto = await t.app.requests.create(ops, { target: 'web01', durationMs: 10 * MIN, reason: 'look' });
    await flush();
    const created = sent.filter((b) => b.event === 'request.created');
    const p = created.find((b) => b.text.includes(pending.id))!;
    expect(p.url).toBe(`https://pam.example.com:8443/#/requests/${pending.id}`);
    expect(p.text).toContain(`approve or deny: https://pam.example.com:8443/#/requests/${pending.id}`);
    const a = created.find((b) => b.text.includes(auto.id))!;
    expect(a.url).toBeUndefined();
    expect(a.text).not.toContain('https://');
  });
});
