// The access workflow through the real CLI against a running `portcullis serve`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantView, RequestView } from '../../gateway/access/views.js';
import { adminIn, asIn, loginIn } from '../harness/cli-in-process.js';
import { type CliResult, type GatewayPeer, json, startGateway } from '../harness/gateway.js';

const HOST_KEY = 'SHA256:' + 'B'.repeat(43);
let gw: GatewayPeer;
// Most calls run the CLI's main() in process (test/harness/cli-in-process.ts): the same argv
// parsing, wording and exit codes against the running gateway, without ~1.2 s of Node start-up
// each. What only the process adds stays covered by spawned calls (gw.admin, gw.as, gw.login):
// a login, a request, a refusal's exit status and an audit verify.
const admin = (args: string[], stdin?: string): Promise<CliResult> => adminIn(gw, args, stdin);
const as = (user: string, args: string[], stdin?: string): Promise<CliResult> => asIn(gw, user, args, stdin);

beforeAll(async () => {
  gw = await startGateway();
  const add = async (name: string, role: string): Promise<void> => {
    expect((await admin(['user', 'add', name, '--role', role, '--password-stdin'], `${name}-Password-1\n`)).code).toBe(0);
  };
  await add('ops', 'ops');
  await add('ops2', 'ops');
  await add('alice', 'approver');
  await add('bob', 'approver');
  await add('ivy', 'investigator');
  for (const t of ['web01', 'web02', 'db01']) {
    expect((await admin(['target', 'add', t, '--kind', 'ssh', '--host', '127.0.0.1', '--port', '22', '--account', 'root', '--password-stdin', '--host-key', HOST_KEY, '--tag', t === 'db01' ? 'db' : 'web'], 'x-secret\n')).code).toBe(0);
  }
  expect((await admin(['policy', 'add', 'web-one', '--roles', 'ops', '--targets', 'web01', '--max', '2h', '--approvals', '1', '--approver-roles', 'approver', '--ticket-pattern', '^INC-[0-9]+$'])).code).toBe(0);
  expect((await admin(['policy', 'add', 'web-two', '--roles', 'ops', '--targets', 'web02', '--max', '1h', '--approvals', '2', '--approver-roles', 'approver'])).code).toBe(0);
  expect((await admin(['policy', 'add', 'db-oncall', '--roles', 'ops', '--tags', 'db', '--max', '30m', '--approvals', '1', '--approver-roles', 'approver', '--auto-approve', '--on-call', 'ops'])).code).toBe(0);
  expect(gw.login('ops', 'ops-Password-1').code).toBe(0);
  for (const u of ['ops2', 'alice', 'bob', 'ivy']) expect((await loginIn(gw, u, `${u}-Password-1`)).code).toBe(0);
}, 120_000);

afterAll(async () => { await gw?.stop(); });

describe('requests, approvals and grants through the CLI', () => {
  it('takes a request through approval to an active grant', async () => {
    const req = json<RequestView>(gw.as('ops', ['request', 'web01', '--for', '30m', '--reason', 'disk full', '--ticket', 'INC-42', '--json']));
    expect(req).toMatchObject({ status: 'pending', user: 'ops', target: 'web01', ticket: 'INC-42', duration_s: 1800 });
    const pending = json<RequestView[]>(await as('alice', ['requests', '--pending', '--json']));
    expect(pending.map((r) => r.id)).toContain(req.id);
    const approved = json<RequestView>(await as('alice', ['approve', req.id, '--json']));
    expect(approved.status).toBe('approved');
    const grants = json<GrantView[]>(await as('ops', ['grant', 'list', '--active', '--json']));
    const g = grants.find((x) => x.id === approved.grant)!;
    expect(g).toMatchObject({ user: 'ops', target: 'web01', source: 'request', approvers: ['alice'], status: 'active' });
    const minutes = (Date.parse(g.expires_at) - Date.parse(g.starts_at)) / 60_000;
    expect(minutes).toBe(30);
  });

  it('needs two distinct approvers where the policy says so, and never the requester', async () => {
    const req = json<RequestView>(await as('ops', ['request', 'web02', '--for', '15m', '--reason', 'deploy', '--json']));
    const self = await as('ops', ['approve', req.id]);
    expect(self.code).toBe(1);
    expect(self.stderr).toMatch(/cannot decide your own request.*\(self-approval\)/);
    const peer = await as('ops2', ['approve', req.id]);
    expect(peer.stderr).toMatch(/not-approver/);
    expect(json<RequestView>(await as('alice', ['approve', req.id, '--json'])).status).toBe('pending');
    expect((await as('alice', ['approve', req.id])).stderr).toMatch(/duplicate-approval/);
    const done = json<RequestView>(await as('bob', ['requests', 'approve', req.id, '--json']));
    expect(done).toMatchObject({ status: 'approved', approvals: ['alice', 'bob'] });
  });

  it('auto-approves an on-call user and queues others', async () => {
    const r = json<RequestView>(await as('ops', ['request', 'db01', '--for', '10m', '--reason', 'page', '--json']));
    expect(r).toMatchObject({ status: 'approved', auto_approved: true });
    expect(json<RequestView>(await as('ops2', ['request', 'db01', '--for', '10m', '--reason', 'curious', '--json'])).status).toBe('pending');
  });

  it('denies with a reason and refuses bad input with stable codes, changing nothing', async () => {
    const before = json<RequestView[]>(await admin(['requests', '--json'])).length;
    const cases: Array<[string[], RegExp]> = [
      [['request', 'web01', '--for', '30x', '--reason', 'r', '--ticket', 'INC-1'], /malformed duration "30x".*\(bad-duration\)/],
      [['request', 'web01', '--for', '30m', '--reason', '', '--ticket', 'INC-1'], /reason-required/],
      [['request', 'web01', '--for', '30m', '--reason', 'r', '--ticket', 'JIRA-9'], /ticket matching .*\(ticket-invalid\)/],
      [['request', 'web01', '--for', '3h', '--reason', 'r', '--ticket', 'INC-1'], /at most 2h.*\(duration-too-long\)/],
      [['request', 'nope', '--for', '3m', '--reason', 'r'], /no target "nope".*\(not-found\)/],
    ];
    for (const [i, [args, re]] of cases.entries()) {
      const r = i === 0 ? gw.as('ops', args) : await as('ops', args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(re);
    }
    expect(json<RequestView[]>(await admin(['requests', '--json'])).length).toBe(before);
    const req = json<RequestView>(await as('ops', ['request', 'web01', '--for', '5m', '--reason', 'again', '--ticket', 'INC-7', '--json']));
    expect((await as('alice', ['deny', req.id])).stderr).toMatch(/--reason is required/);
    const denied = json<RequestView>(await as('alice', ['deny', req.id, '--reason', 'use the runbook', '--json']));
    expect(denied).toMatchObject({ status: 'denied', deny_reason: 'use the runbook', decided_by: 'alice' });
  });

  it('expires a short admin grant at its deadline and audits it', async () => {
    const g = json<GrantView>(await admin(['grant', 'add', '--user', 'ops2', '--target', 'web01', '--for', '2s', '--reason', 'expiry test', '--json']));
    expect(g.status).toBe('active');
    await new Promise((r) => setTimeout(r, 2500));
    const active = json<GrantView[]>(await admin(['grant', 'list', '--active', '--json']));
    expect(active.map((x) => x.id)).not.toContain(g.id);
    const audit = (await admin(['audit', 'export'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { code: string; data: { grant?: string } });
    expect(audit.some((e) => e.code === 'grant.expired' && e.data.grant === g.id)).toBe(true);
  });

  it('revokes a grant and records who did it', async () => {
    const g = json<GrantView>(await admin(['grant', 'add', '--user', 'ops', '--target', 'web02', '--for', '1h', '--reason', 'temp', '--json']));
    const r = json<GrantView>(await as('alice', ['grant', 'revoke', g.id, '--reason', 'incident closed', '--json']));
    expect(r).toMatchObject({ status: 'revoked', revoked_by: 'alice', revoke_reason: 'incident closed' });
    expect((await as('ops', ['grant', 'revoke', g.id])).stderr).toMatch(/needs role: admin or approver.*\(forbidden\)/);
  });

  it('lets requesters see only their own requests and grants', async () => {
    const mine = json<RequestView[]>(await as('ops2', ['requests', '--json']));
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((r) => r.user === 'ops2')).toBe(true);
    expect(json<GrantView[]>(await as('ops2', ['grant', 'list', '--json'])).every((g) => g.user === 'ops2')).toBe(true);
  });

  it('keeps a verifiable audit chain of everything above', async () => {
    const r = gw.admin(['audit', 'verify']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/audit chain intact: \d+ entries/);
    expect((await as('ivy', ['audit', 'verify', '--json'])).stdout).toMatch(/"ok": true/);
  });
});
