// The protocol-neutral half of `target test` (targets/target-check.ts): the credential must open
// for the target as it stands, then reachability, then the protocol's login probe with the opened
// credential, which is wiped whatever the probe does.
// The probes themselves log in to real servers in test/e2e/cli-secrets-and-targets.test.ts.
import { createServer, type Server } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TargetRecord } from '../../gateway/store/records.js';
import { checkTarget, type LoginProbe } from '../../gateway/targets/target-check.js';
import { testApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
let server: Server;
let port: number;

beforeEach(async () => {
  t = await testApp();
  server = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

function target(p: number): Promise<TargetRecord> {
  return t.app.targets.add('admin', { name: 'db01', kind: 'postgres', host: '127.0.0.1', port: p, account: 'app', password: 'vaulted-secret-1' });
}

describe('target test, the protocol-neutral half', () => {
  it('reports an unreachable target without calling the probe', async () => {
    // A port that was just free: bind it, then close it again.
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const closedPort = (gone.address() as { port: number }).port;
    await new Promise((resolve) => gone.close(resolve));
    let probed = false;
    const r = await checkTarget(await target(closedPort), t.app.creds, () => { probed = true; return Promise.resolve({ ok: true, detail: 'logged in' }); });
    expect(r).toEqual({ ok: false, reachable: false, login: 'not-checked', detail: `cannot reach 127.0.0.1:${closedPort}: ECONNREFUSED` });
    expect(probed).toBe(false);
  });

  it('hands the opened credential to the probe and wipes it afterwards', async () => {
    let seen: Buffer | undefined;
    const probe: LoginProbe = (_t, cred) => {
      expect(cred.secret.toString()).toBe('vaulted-secret-1');
      seen = cred.secret;
      return Promise.resolve({ ok: false, detail: 'upstream refused the vaulted credential' });
    };
    expect(await checkTarget(await target(port), t.app.creds, probe)).toEqual({ ok: false, reachable: true, login: 'failed', detail: 'upstream refused the vaulted credential' });
    expect(seen?.every((b) => b === 0)).toBe(true);
  });

  it('wipes the credential when the probe throws', async () => {
    let seen: Buffer | undefined;
    const probe: LoginProbe = (_t, cred) => { seen = cred.secret; return Promise.reject(new Error('probe bug')); };
    await expect(checkTarget(await target(port), t.app.creds, probe)).rejects.toThrow('probe bug');
    expect(seen?.every((b) => b === 0)).toBe(true);
  });

  it('refuses a target re-pointed in the store before connecting anywhere: not even a TCP connect reaches the new address', async () => {
    let accepted = 0;
    const impostor = createServer((sock) => { accepted++; sock.destroy(); });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const tgt = await target(port);
    const repointed = { ...tgt, port: (impostor.address() as { port: number }).port };
    await t.app.store.targets.update(repointed);
    let probed = false;
    await expect(checkTarget(repointed, t.app.creds, () => { probed = true; return Promise.resolve({ ok: true, detail: '' }); }))
      .rejects.toThrow(/portcullis target update db01 --password-stdin/);
    await new Promise((r) => setTimeout(r, 100));
    expect(accepted).toBe(0);
    expect(probed).toBe(false);
    await new Promise((resolve) => impostor.close(resolve));
  });
});
