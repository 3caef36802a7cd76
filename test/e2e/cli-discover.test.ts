// `portcullis discover` through the built CLI (a child process) against the real HTTPS API server
// and the real services, run in this process so the target can be a fake AdminSession (the real
// per-protocol listings have their own tests): the JSON contract (`managed`), the human table
// (unmanaged first), the stored findings, errors an admin acts on, and admins only (403 otherwise).
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { BIN } from '../harness/gateway.js';
import type { DiscoveryFindingView } from '../../gateway/api-types.js';
import { type AdminLogin, type PrivilegedAccount, ProvisionError } from '../../gateway/provision/provisioner.js';
import { type ApiFixture, startApi } from '../support/api-fixture.js';
import { type TestApp, addSshTarget, testApp } from '../support/test-app.js';

let t: TestApp;
let api: ApiFixture;
let env: NodeJS.ProcessEnv;
let opsEnv: NodeJS.ProcessEnv;
let accounts: PrivilegedAccount[] = [];
let failure: Error | null = null;

const login: AdminLogin = (_t, cred) => {
  cred.wipe();
  if (failure) return Promise.reject(failure);
  return Promise.resolve({
    discover: () => Promise.resolve(accounts),
    createAccount: () => Promise.reject(new Error('unused')), dropAccount: () => Promise.reject(new Error('unused')),
    checkProvisioner: () => Promise.resolve([]), setOwnSecret: () => Promise.reject(new Error('unused')),
    close: () => Promise.resolve(),
  });
};

beforeAll(async () => {
  t = await testApp({ adminLogins: { ssh: login } });
  api = await startApi(t);
  const adminToken = (await t.app.authn.issueToken('test', t.admin, 'cli', null)).token;
  const ops = await t.user('ops', ['ops']);
  const opsToken = (await t.app.authn.issueToken('test', ops, 'cli', null)).token;
  env = { PORTCULLIS_URL: api.url, PORTCULLIS_TOKEN: adminToken, PORTCULLIS_CA: api.caFile, PORTCULLIS_HOME: t.dir };
  opsEnv = { ...env, PORTCULLIS_TOKEN: opsToken };
  await addSshTarget(t.app);
}, 60_000);

afterAll(async () => {
  await api?.close();
  await t?.close();
});

/** The built CLI, asynchronously: the API it calls runs in this very process. */
function cli(args: string[], e: NodeJS.ProcessEnv = env): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...e }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

describe('portcullis discover', () => {
  it('prints JSON rows with "managed" true or false, unmanaged first', async () => {
    accounts = [{ account: 'root', privileges: ['uid-0', 'password'] }, { account: 'backdoor', privileges: ['uid-0'] }];
    const r = await cli(['discover', 'web01', '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as DiscoveryFindingView[];
    expect(rows.map((x) => [x.account, x.managed, x.managed_as, x.new])).toEqual([['backdoor', false, null, true], ['root', true, 'vaulted account', true]]);
    expect(rows[0]).toMatchObject({ target: 'web01', privileges: ['uid-0'], gone_at: null });
    expect(typeof rows[0]!.first_seen_at).toBe('string');
  });

  it('prints a table for people, unmanaged first, with a summary line', async () => {
    const r = await cli(['discover', 'web01']);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^ACCOUNT\s+PRIVILEGES\s+MANAGED\s+WHY\s+NEW$/);
    expect(lines[1]).toMatch(/^backdoor\s+uid-0\s+NO\s+-$/);
    expect(lines[2]).toMatch(/^root\s+password,uid-0\s+yes\s+vaulted account$/);
    expect(lines[3]).toBe('2 privileged account(s); 1 NOT managed by Portcullis: standing accounts to remove or bring under management');
  });

  it('lists stored findings, gone accounts included', async () => {
    accounts = [{ account: 'root', privileges: ['uid-0'] }];
    await cli(['discover', 'web01', '--json']);
    const r = await cli(['discover', '--stored', '--json']);
    const rows = JSON.parse(r.out) as DiscoveryFindingView[];
    expect(rows.find((x) => x.account === 'backdoor')?.gone_at).toEqual(expect.any(String) as string);
    expect(rows.find((x) => x.account === 'root')).toMatchObject({ managed: true, gone_at: null });
    const one = await cli(['discover', 'web01', '--stored']);
    expect(one.out).toMatch(/^TARGET\s+ACCOUNT/);
    expect((await cli(['discover', 'nope', '--stored'])).err).toContain('no target "nope"');
  });

  it('says clearly when the target is down or the account lacks a right', async () => {
    failure = new ProvisionError('unreachable', 'connect ECONNREFUSED 127.0.0.1:22');
    const down = await cli(['discover', 'web01']);
    expect(down.code).toBe(1);
    expect(down.err).toBe('portcullis: discovery on web01: cannot reach 127.0.0.1:22: connect ECONNREFUSED 127.0.0.1:22 (unavailable)\n');
    failure = new ProvisionError('missing-right', 'sudo: /usr/bin/getent not allowed');
    expect((await cli(['discover', 'web01'])).err).toContain('lacks a right: sudo: /usr/bin/getent not allowed (conflict)');
    failure = null;
    expect((await cli(['discover'])).code).toBe(2);
  });

  it('refuses anyone but an admin (403), on both routes', async () => {
    const r = await cli(['discover', 'web01', '--json'], opsEnv);
    expect(r.code).toBe(1);
    expect(r.err).toContain('(forbidden)');
    expect((await cli(['discover', '--stored'], opsEnv)).err).toContain('(forbidden)');
    const status = await fetchStatus('POST', '/api/v1/targets/web01/discover', opsEnv.PORTCULLIS_TOKEN!);
    expect(status).toBe(403);
    expect(await fetchStatus('GET', '/api/v1/discovery', opsEnv.PORTCULLIS_TOKEN!)).toBe(403);
    expect(await fetchStatus('GET', '/api/v1/discovery?target=web01', env.PORTCULLIS_TOKEN!)).toBe(200);
  });
});

function fetchStatus(method: string, path: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, env.PORTCULLIS_URL), { method, ca: api.caPem, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}
