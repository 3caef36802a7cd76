// Authentication, throttling, tokens and role checks on the HTTPS API, through the CLI and raw HTTPS.
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpAt } from '../../gateway/access/totp.js';
import Database from 'better-sqlite3';
import { adminIn, loginIn } from '../harness/cli-in-process.js';
import { type CliResult, type GatewayPeer, cli, json, startGateway } from '../harness/gateway.js';

let gw: GatewayPeer;
// The admin's calls and the failed logins of the lockout run in process
// (test/harness/cli-in-process.ts): the same argv, wording and exit codes without ~1.2 s of Node
// start-up each. The other logins, whoami and the token in the environment stay real processes.
const admin = (args: string[], stdin?: string): Promise<CliResult> => adminIn(gw, args, stdin);

function raw(method: string, path: string, token?: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, gw.url), {
      method, ca: readFileSync(gw.caFile),
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => { b += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

beforeAll(async () => {
  gw = await startGateway();
  expect((await admin(['user', 'add', 'ops', '--role', 'ops', '--password-stdin'], 'ops-Password-1\n')).code).toBe(0);
  expect((await admin(['user', 'add', 'mfa', '--role', 'ops', '--password-stdin'], 'mfa-Password-1\n')).code).toBe(0);
  expect((await admin(['user', 'add', 'victim', '--role', 'ops', '--password-stdin'], 'victim-Password-1\n')).code).toBe(0);
}, 120_000);

afterAll(async () => { await gw?.stop(); });

describe('authentication and the API', () => {
  it('rejects calls without a token, with a wrong token, and from a role that may not', async () => {
    expect(await raw('GET', '/api/v1/users')).toMatchObject({ status: 401, body: expect.stringContaining('"code":"unauthenticated"') as string });
    expect((await raw('GET', '/api/v1/users', 'pcat_wrong')).status).toBe(401);
    gw.login('ops', 'ops-Password-1');
    const r = gw.as('ops', ['user', 'list']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ops may not do this \(needs role: admin\) \(forbidden\)/);
    const audit = (await admin(['audit', 'export'])).stdout;
    expect(audit).toMatch(/"code":"api.denied"/);
  });

  it('answers malformed bodies and unknown routes with JSON errors', async () => {
    const token = readFileSync(`${gw.dataDir}/admin.token`, 'utf8').trim();
    expect(await raw('POST', '/api/v1/users', token, '{not json')).toMatchObject({ status: 400, body: expect.stringContaining('bad-request') as string });
    expect(await raw('POST', '/api/v1/users', token, '[1,2]')).toMatchObject({ status: 400 });
    expect(await raw('GET', '/api/v1/nothing', token)).toMatchObject({ status: 404, body: expect.stringContaining('not-found') as string });
    expect(await raw('POST', '/api/v1/users', token, JSON.stringify({ name: 'bad+name', roles: [] }))).toMatchObject({ status: 400, body: expect.stringContaining('no \\"+\\"') as string });
  });

  it('locks a user and address after five failures in ten minutes, and audits it', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await loginIn(gw, 'victim', 'wrong-password');
      expect(r.stderr).toMatch(/invalid user name, password or one-time code \(invalid-credentials\)/);
    }
    const locked = await loginIn(gw, 'victim', 'victim-Password-1');
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(/too many failed logins for victim.*\(locked\)/);
    const codes = (await admin(['audit', 'export'])).stdout.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { code: string }).code);
    expect(codes).toContain('auth.locked');
    expect(gw.login('ops', 'ops-Password-1').code).toBe(0);
  });

  it('does not reveal whether a user exists', () => {
    expect(gw.login('nobody-here', 'whatever-1').stderr).toMatch(/\(invalid-credentials\)/);
  });

  it('requires the one-time code once TOTP is enrolled, and refuses its replay', async () => {
    const enrol = await admin(['user', 'totp', 'mfa']);
    expect(enrol.code).toBe(0);
    const uri = enrol.stdout.split('\n')[0]!;
    expect(uri).toMatch(/^otpauth:\/\/totp\/Portcullis%3Amfa\?secret=[A-Z2-7]+/);
    expect(enrol.stdout).toMatch(/[▀▄█]/);
    const secret = /secret=([A-Z2-7]+)/.exec(uri)![1]!;
    expect(gw.login('mfa', 'mfa-Password-1').stderr).toMatch(/totp-required/);
    const code = totpAt(secret, Date.now());
    expect(gw.login('mfa', 'mfa-Password-1', code).code).toBe(0);
    expect(gw.login('mfa', 'mfa-Password-1', code).stderr).toMatch(/invalid-credentials/);
  });

  it('issues service-account tokens usable as PORTCULLIS_TOKEN, stored only hashed', async () => {
    expect((await admin(['user', 'add', 'ci-bot', '--role', 'investigator', '--service'])).code).toBe(0);
    const t = json<{ token: string }>(await admin(['user', 'token', 'ci-bot', '--ttl', '1h', '--json']));
    expect(t.token).toMatch(/^pcat_/);
    const env = { PORTCULLIS_URL: gw.url, PORTCULLIS_TOKEN: t.token, PORTCULLIS_CA: gw.caFile, PORTCULLIS_HOME: `${gw.dataDir}/../nobody` };
    expect(json<{ name: string; roles: string[] }>(cli(['whoami', '--json'], { env }))).toMatchObject({ name: 'ci-bot', roles: ['investigator'] });
    expect(cli(['user', 'list'], { env }).stderr).toMatch(/forbidden/);
    const db = new Database(`${gw.dataDir}/state.db`, { readonly: true });
    const rows = db.prepare('SELECT hash FROM api_tokens').all() as Array<{ hash: string }>;
    db.close();
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows)).not.toContain(t.token);
  });

  it('serves Prometheus metrics and health', async () => {
    const m = await raw('GET', '/metrics');
    expect(m.status).toBe(200);
    expect(m.body).toMatch(/# TYPE portcullis_http_requests_total counter/);
    expect(m.body).toMatch(/portcullis_auth_failures_total \d+/);
    expect(m.body).not.toMatch(/ops|victim/);
    expect(await raw('GET', '/healthz')).toMatchObject({ status: 200 });
  });
});
