// Targets are need-to-know, through the real gateway's HTTPS API and CLI: an admin sees every target
// whole; anyone else sees no host, port, account, host key or TLS material, and only the targets a
// policy lets them request or that they hold a grant on (approvers and investigators: every name).
// A target one may not see answers exactly like one that does not exist.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TargetSummaryView, TargetView } from '../../gateway/api-types.js';
import { adminIn } from '../harness/cli-in-process.js';
import { type CliResult, type GatewayPeer, json, startGateway } from '../harness/gateway.js';
import { apiLogin, apiRequest } from '../harness/https-api.js';

let gw: GatewayPeer;
// Distinctive values, so a leak anywhere in a body is found by a plain substring search.
const HOST = 'hidden-host-7781.internal';
const ACCOUNT = 'svc-hidden-account';
const FINGERPRINT = 'SHA256:' + 'Q'.repeat(42) + 'k';
const tokens: Record<string, string> = {};
// The admin CLI in process (test/harness/cli-in-process.ts): the same code and output without
// ~1.2 s of Node start-up a call; the non-admin's login and target list stay real processes.
const admin = (args: string[], stdin?: string): Promise<CliResult> => adminIn(gw, args, stdin);

beforeAll(async () => {
  gw = await startGateway();
  const ok = (r: { code: number; stderr: string }): void => { if (r.code !== 0) throw new Error(r.stderr); };
  for (const [name, tags] of [['web01', 'web'], ['web02', 'web'], ['vault01', 'secret']] as const) {
    ok(await admin(['target', 'add', name, '--kind', 'ssh', '--host', HOST, '--port', '2022', '--account', ACCOUNT, '--password-stdin', '--host-key', FINGERPRINT, '--tag', tags], 'upstream-Password-1\n'));
  }
  ok(await admin(['policy', 'add', 'ops-web', '--roles', 'ops', '--tags', 'web', '--approvals', '1', '--approver-roles', 'approver', '--breakglass']));
  for (const [name, role] of [['boss', 'admin'], ['ops', 'ops'], ['inv', 'investigator'], ['appr', 'approver'], ['guest', 'guest']] as const) {
    ok(await admin(['user', 'add', name, '--role', role, '--password-stdin'], `${name}-Password-1\n`));
    tokens[name] = await apiLogin(gw, name, `${name}-Password-1`);
  }
  // A direct grant needs no policy: the guest must still learn the name of what it may use.
  ok(await admin(['grant', 'add', '--user', 'guest', '--target', 'vault01', '--for', '30m', '--reason', 'test']));
}, 120_000);

afterAll(async () => { await gw?.stop(); });

const list = async (user: string): Promise<{ status: number; body: string }> => apiRequest(gw, 'GET', '/api/v1/targets', { token: tokens[user]! });
const noDetails = (body: string): void => {
  for (const secret of [HOST, ACCOUNT, FINGERPRINT, '2022', '"host"', '"port"', '"account"', '"host_key"', '"tls"', '"database"', '"credential"', '"id"']) expect(body).not.toContain(secret);
};

describe('GET /api/v1/targets is need-to-know', () => {
  it('gives an admin every target whole', async () => {
    const r = await list('boss');
    expect(r.status).toBe(200);
    const all = JSON.parse(r.body) as TargetView[];
    expect(all.map((t) => t.name).sort()).toEqual(['vault01', 'web01', 'web02']);
    expect(all[0]).toMatchObject({ host: HOST, port: 2022, account: ACCOUNT, host_key: FINGERPRINT });
  });

  it('gives a requester only the targets a policy lets them request, without where they are', async () => {
    const r = await list('ops');
    expect(r.status).toBe(200);
    noDetails(r.body);
    expect(JSON.parse(r.body)).toEqual([
      { name: 'web01', kind: 'ssh', tags: ['web'], requestable: true, breakglass: true, granted: false, levels: ['default'] },
      { name: 'web02', kind: 'ssh', tags: ['web'], requestable: true, breakglass: true, granted: false, levels: ['default'] },
    ] satisfies TargetSummaryView[]);
  });

  it('gives a user with only a direct grant that one target', async () => {
    const r = await list('guest');
    noDetails(r.body);
    expect(JSON.parse(r.body)).toEqual([{ name: 'vault01', kind: 'ssh', tags: ['secret'], requestable: false, breakglass: false, granted: true, levels: ['default'] }]);
  });

  it('gives approvers and investigators every name and kind, and nothing more', async () => {
    for (const who of ['inv', 'appr']) {
      const r = await list(who);
      expect(r.status).toBe(200);
      noDetails(r.body);
      expect((JSON.parse(r.body) as TargetSummaryView[]).map((t) => t.name).sort()).toEqual(['vault01', 'web01', 'web02']);
    }
  });

  it('answers a target one may not see exactly like one that does not exist', async () => {
    const hidden = await apiRequest(gw, 'GET', '/api/v1/targets/vault01', { token: tokens.ops! });
    const missing = await apiRequest(gw, 'GET', '/api/v1/targets/vault99', { token: tokens.ops! });
    expect(hidden.status).toBe(404);
    expect(hidden.body.replace('vault01', 'X')).toBe(missing.body.replace('vault99', 'X'));
    const seen = await apiRequest(gw, 'GET', '/api/v1/targets/web01', { token: tokens.ops! });
    expect(JSON.parse(seen.body)).toMatchObject({ name: 'web01', requestable: true });
    noDetails(seen.body);
    expect(JSON.parse((await apiRequest(gw, 'GET', '/api/v1/targets/vault01', { token: tokens.boss! })).body)).toMatchObject({ host: HOST });
  });

  it('follows policy changes at once: a policy removed hides its targets', async () => {
    expect((await admin(['policy', 'remove', 'ops-web'])).code).toBe(0);
    expect(JSON.parse((await list('ops')).body)).toEqual([]);
    expect((await admin(['policy', 'add', 'ops-web', '--roles', 'ops', '--targets', 'web01', '--approvals', '1', '--approver-roles', 'approver'])).code).toBe(0);
    expect((JSON.parse((await list('ops')).body) as TargetSummaryView[]).map((t) => t.name)).toEqual(['web01']);
  });

  it('prints the summary in `portcullis target list` for a non-admin', async () => {
    expect(gw.login('ops', 'ops-Password-1').code).toBe(0);
    const text = gw.as('ops', ['target', 'list']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^NAME\s+KIND\s+LEVELS\s+TAGS\s+REQUESTABLE\s+BREAKGLASS\s+GRANTED/);
    expect(text.stdout).toMatch(/web01\s+ssh\s+default\s+web\s+true\s+false\s+false/);
    noDetails(text.stdout);
    expect(json<TargetView[]>(await admin(['target', 'list', '--json']))).toHaveLength(3);
  });
});
