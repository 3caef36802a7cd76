// The idle timeout for SSH sessions (ssh.idleTimeout, the pipeline's one mechanism): a session
// where nothing moves either way is cut with a message and the reason recorded; output keeps a
// session alive. Real OpenSSH client → gateway → real sshd.
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
});
