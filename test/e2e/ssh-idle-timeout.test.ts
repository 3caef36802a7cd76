// The idle timeout for SSH sessions (ssh.idleTimeout, the pipeline's one mechanism): a session
// where nothing comes from the client is cut with a message and the reason recorded; without a
// terminal the target's output keeps a session alive, on a terminal it does not (an abandoned
// terminal running a printing loop). Real OpenSSH client → gateway → real sshd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json } from '../harness/gateway.js';
import { type SshFixture, latestClosedSession, startSshFixture } from '../harness/ssh-fixture.js';

let fx: SshFixture;

beforeAll(async () => {
  fx = await startSshFixture({ PORTCULLIS_SSH_IDLE_TIMEOUT: '2s' });
  fx.grant('ops', 'web01', '10m');
}, 120_000);

afterAll(async () => { await fx?.stop(); });

interface SessionRow { id: string; end_reason: string | null }

describe('the SSH idle timeout', () => {
  it('cuts a session where nothing moves, says why, and records idle-timeout', async () => {
    const t0 = Date.now();
    const r = await fx.ssh('ops+web01', ['sleep 30; echo never']);
    const took = Date.now() - t0;
    expect(r.stdout.toString()).not.toContain('never');
    expect(r.stderr).toMatch(/Portcullis: session closed after being idle too long/);
    expect(r.status).not.toBe(0);
    expect(took).toBeGreaterThan(1900);
    expect(took).toBeLessThan(15_000);
    const id = await latestClosedSession(fx.gw);
    expect(json<SessionRow[]>(fx.gw.admin(['session', 'list', '--json'])).find((s) => s.id === id)?.end_reason).toBe('idle-timeout');
  });

  it('keeps a session whose command keeps talking', async () => {
    const r = await fx.ssh('ops+web01', ['for i in 1 2 3 4 5 6 7 8; do echo tick-$i; sleep 0.5; done']);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toContain('tick-8');
  });

  it('cuts a terminal session whose target keeps printing while the client sends nothing', async () => {
    const t0 = Date.now();
    const r = await fx.ssh('ops+web01', ['for i in $(seq 1 30); do echo tick-$i; sleep 0.5; done'], { extra: ['-tt'] });
    const took = Date.now() - t0;
    const out = r.stdout.toString();
    expect(out).toContain('tick-1');
    expect(out).not.toContain('tick-30');
    expect(out).toMatch(/Portcullis: session closed after being idle too long/);
    expect(took).toBeLessThan(12_000);
    const id = await latestClosedSession(fx.gw);
    expect(json<SessionRow[]>(fx.gw.admin(['session', 'list', '--json'])).find((s) => s.id === id)?.end_reason).toBe('idle-timeout');
  });
});
