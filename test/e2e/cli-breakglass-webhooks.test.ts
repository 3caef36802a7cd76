// Break-glass through the CLI with a real webhook receiver on loopback: the alert arrives as a
// Slack-compatible body, review by an approver, and a denied review revokes the grant.
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantView } from '../../gateway/access/views.js';
import { freePort, tempDir, waitFor } from '../harness/common.js';
import { adminIn, asIn, loginIn } from '../harness/cli-in-process.js';
import { type CliResult, type GatewayPeer, json, startGateway } from '../harness/gateway.js';

let gw: GatewayPeer;
let receiver: Server;
const received: Array<{ text: string; event: string; data: { grant?: GrantView } }> = [];
let failFirst = true;
// Most CLI calls run in process (test/harness/cli-in-process.ts): the same argv, wording and exit
// codes without ~1.2 s of Node start-up each, and without blocking the webhook receiver above.
// ops's login and the break-glass itself stay real processes.
const admin = (args: string[], stdin?: string): Promise<CliResult> => adminIn(gw, args, stdin);
const as = (user: string, args: string[]): Promise<CliResult> => asIn(gw, user, args);

beforeAll(async () => {
  const port = await freePort();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      // The first delivery fails, to show the retry.
      if (failFirst) { failFirst = false; res.writeHead(503).end(); return; }
      received.push(JSON.parse(body) as (typeof received)[number]);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(port, '127.0.0.1', r));
  const cfgDir = tempDir('cfg');
  const config = join(cfgDir, 'portcullis.yaml');
  writeFileSync(config, `webhooks:\n  - url: http://127.0.0.1:${port}/services/T000/B000/XXXXSECRET\n    events: [breakglass.used, breakglass.reviewed, grant.revoked]\nbreakglass:\n  max: 45m\n`);
  gw = await startGateway({ config });
  await admin(['user', 'add', 'ops', '--role', 'ops', '--password-stdin'], 'ops-Password-1\n');
  await admin(['user', 'add', 'alice', '--role', 'approver', '--password-stdin'], 'alice-Password-1\n');
  await admin(['target', 'add', 'web01', '--kind', 'ssh', '--host', '127.0.0.1', '--account', 'root', '--password-stdin', '--host-key', 'SHA256:' + 'C'.repeat(43)], 'x\n');
  await admin(['target', 'add', 'web02', '--kind', 'ssh', '--host', '127.0.0.1', '--account', 'root', '--password-stdin', '--host-key', 'SHA256:' + 'C'.repeat(43)], 'x\n');
  await admin(['policy', 'add', 'web-bg', '--roles', 'ops', '--targets', 'web01', '--approvals', '1', '--approver-roles', 'approver', '--breakglass']);
  await admin(['policy', 'add', 'web2', '--roles', 'ops', '--targets', 'web02', '--approvals', '1', '--approver-roles', 'approver']);
  gw.login('ops', 'ops-Password-1');
  await loginIn(gw, 'alice', 'alice-Password-1');
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  receiver?.close();
});

describe('break-glass', () => {
  it('needs a reason and a policy that allows it', async () => {
    expect((await as('ops', ['breakglass', 'web01'])).stderr).toMatch(/reason-required/);
    expect((await as('ops', ['breakglass', 'web02', '--reason', 'down'])).stderr).toMatch(/no policy allows break-glass.*\(no-policy\)/);
  });

  it('grants at once, capped, alerts the webhook (after a retry), and flags the grant for review', async () => {
    const r = gw.as('ops', ['breakglass', 'web01', '--reason', 'prod is down', '--for', '4h']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/BREAK-GLASS grant grt_\S+ on web01/);
    const g = json<GrantView[]>(await as('ops', ['grant', 'list', '--active', '--json']))[0]!;
    expect(g).toMatchObject({ source: 'breakglass', needs_review: true, reason: 'prod is down' });
    expect((Date.parse(g.expires_at) - Date.parse(g.starts_at)) / 60_000).toBe(45);
    await waitFor('the break-glass webhook', () => received.some((b) => b.event === 'breakglass.used'), 15_000);
    const alert = received.find((b) => b.event === 'breakglass.used')!;
    expect(alert.text).toMatch(/BREAK-GLASS: ops took access to web01 .*"prod is down"/);
    expect(alert.data.grant?.id).toBe(g.id);
    expect(gw.log()).toMatch(/"msg":"webhook.failed"/);
    expect(gw.log()).not.toContain('XXXXSECRET');
  });

  it('is reviewed by an approver; a denial revokes the grant and tells the webhook', async () => {
    const g = json<GrantView[]>(await as('ops', ['grant', 'list', '--active', '--json']))[0]!;
    expect((await as('ops', ['grant', 'review', g.id, '--accept'])).stderr).toMatch(/self-approval/);
    const denied = json<GrantView>(await as('alice', ['grant', 'review', g.id, '--deny', '--reason', 'not an emergency', '--json']));
    expect(denied).toMatchObject({ status: 'revoked', needs_review: false, reviewed_by: 'alice', revoke_reason: 'break-glass review denied: not an emergency' });
    await waitFor('the revocation webhook', () => received.some((b) => b.event === 'grant.revoked'), 15_000);
    const codes = (await admin(['audit', 'export'])).stdout.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { code: string }).code);
    expect(codes).toEqual(expect.arrayContaining(['breakglass.used', 'grant.reviewed', 'grant.revoked']));
  });
});
