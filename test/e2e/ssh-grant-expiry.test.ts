// The cut: a short grant warns before it ends and cuts at the deadline; revocation and an admin's
// kill cut at once; each with its reason recorded. Runs against the real clock with short grants.
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SshFixture, startSshFixture } from '../harness/ssh-fixture.js';
import { RecordingLayout, recordingsRoot } from '../../recorder/layout.js';
import { readRecordingMeta } from '../../recorder/meta.js';
import { gatewayCutMs } from '../harness/cut-timing.js';
import { adminIn } from '../harness/cli-in-process.js';
import { type CliResult, json } from '../harness/gateway.js';

let fx: SshFixture;

beforeAll(async () => {
  fx = await startSshFixture({ PORTCULLIS_WARN_BEFORE: '3s' });
}, 120_000);

afterAll(async () => { await fx?.stop(); });

interface SessionRow { id: string; end_reason: string | null; started_at: string; ended_at: string | null }
// The admin CLI in process (test/harness/cli-in-process.ts): the same code without ~1.2 s of Node
// start-up a call, so a poll of the session list takes milliseconds.
const admin = (args: string[], stdin?: string): Promise<CliResult> => adminIn(fx.gw, args, stdin);
const grantFor = async (user: string, target: string, duration: string): Promise<string> =>
  json<{ id: string }>(await admin(['grant', 'add', '--user', user, '--target', target, '--for', duration, '--reason', 'test', '--json'])).id;
const sessions = async (): Promise<SessionRow[]> => JSON.parse((await admin(['session', 'list', '--json'])).stdout) as SessionRow[];
const until = async (cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond()) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
};

describe('grant expiry, revocation and kill', () => {
  it('warns before the grant ends, cuts at the deadline, and records grant-expired', async () => {
    // 9 s: the warning is armed only if the login ends before the 3 s mark, which a loaded machine's
    // two CLI calls and an SSH login must reach.
    const grantId = await grantFor('ops', 'web01', '9s');
    const grant = (JSON.parse((await admin(['grant', 'list', '--json'])).stdout) as Array<{ id: string; expires_at: string }>).find((g) => g.id === grantId)!;
    const r = await fx.ssh('ops+web01', ['for i in $(seq 1 30); do echo tick $i; sleep 0.5; done']);
    const cutAt = Date.now();
    expect(r.status).toBe(255);
    // "3 s", or "2 s" when the warning timer fires more than half a second late.
    expect(r.stderr).toMatch(/Portcullis: your access to web01 ends in [23] s/);
    expect(r.stderr).toMatch(/Portcullis: your access to web01 has ended \(grant expired\)/);
    expect(r.stdout.toString()).not.toMatch(/tick 30/);
    // Cut within a second of the deadline.
    expect(Math.abs(cutAt - Date.parse(grant.expires_at))).toBeLessThan(1500);
    const s = (await sessions())[0]!;
    expect(s.end_reason).toBe('grant-expired');
    const eventsFile = RecordingLayout.inDataDir(fx.gw.dataDir, s.id).events;
    await until(() => readFileSync(eventsFile, 'utf8').includes('cut: grant-expired'));
    const events = readFileSync(eventsFile, 'utf8');
    expect(events).toMatch(/"label":"expiry warning"/);
    expect(events).toMatch(/"label":"cut: grant-expired"/);
    await admin(['grant', 'revoke', grantId]);
  });

  it('cuts within a second of revocation', async () => {
    const grantId = await grantFor('ops', 'web01', '10m');
    const run = fx.ssh('ops+web01', ['echo started; sleep 30']);
    await until(async () => (JSON.parse((await admin(['session', 'list', '--live', '--json'])).stdout) as unknown[]).length === 1);
    await admin(['grant', 'revoke', grantId, '--reason', 'test revoke']);
    const cliDone = Date.now();
    const r = await run;
    expect(Date.now() - cliDone).toBeLessThan(1500);
    expect(r.stderr).toMatch(/your access to web01 was revoked/);
    expect((await sessions())[0]!.end_reason).toBe('grant-revoked');
    expect(gatewayCutMs(fx.gw, 'grant.revoked', 'grant-revoked')).toBeLessThan(1000);
  });

  it('lets an admin kill a live session', async () => {
    const grantId = await grantFor('ops', 'web01', '10m');
    const run = fx.ssh('ops+web01', ['sleep 30']);
    let live: Array<{ id: string }> = [];
    await until(async () => (live = JSON.parse((await admin(['session', 'list', '--live', '--json'])).stdout) as Array<{ id: string }>).length === 1);
    expect((await admin(['session', 'kill', live[0]!.id])).code).toBe(0);
    const r = await run;
    expect(r.stderr).toMatch(/session ended by a Portcullis admin/);
    expect((await sessions())[0]!.end_reason).toBe('killed-by-admin');
    await admin(['grant', 'revoke', grantId]);
  });

  it('refuses a target whose host key does not match the pin, without leaking either fingerprint', async () => {
    await admin(['target', 'add', 'evil', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(fx.sshd.port), '--account', fx.sshd.user,
      '--password-stdin', '--host-key', 'SHA256:' + 'Q'.repeat(43)], `${fx.sshd.password}\n`);
    const grantId = await grantFor('ops', 'evil', '5m');
    const r = await fx.ssh('ops+evil', ['echo must-not-run']);
    expect(r.status).not.toBe(0);
    expect(r.stdout.toString()).toBe('');
    expect(r.stderr).toMatch(/host key of evil does not match the pinned one/);
    expect(r.stderr).not.toContain(fx.sshd.hostKeyFingerprint.slice(7));
    expect(r.stderr).not.toContain('Q'.repeat(43));
    expect((await admin(['audit', 'export'])).stdout).toMatch(/"code":"session.upstream_failed".*"reason":"host-key-mismatch"/);
    await admin(['grant', 'revoke', grantId]);
  });

  it('leaves no recording without its end: meta.json names the reason of every ended session', async () => {
    const root = recordingsRoot(fx.gw.dataDir);
    const ended = (id: string): boolean => Boolean(readRecordingMeta(RecordingLayout.of(root, id).meta)?.end_reason);
    await until(() => readdirSync(root).every(ended));
    for (const id of readdirSync(root)) {
      const meta = readRecordingMeta(RecordingLayout.of(root, id).meta);
      expect(meta?.end_reason, id).toBeTruthy();
    }
  });
});
