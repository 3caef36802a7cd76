// Mass export over SSH with real OpenSSH through the gateway to a real sshd: the bytes a command
// or a file transfer sends to the client count, what the client uploads does not; the threshold is
// set low (4 MiB) for the test.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminIn } from '../harness/cli-in-process.js';
import { requireBinary, run, waitFor } from '../harness/common.js';
import { type SshFixture, startSshFixture } from '../harness/ssh-fixture.js';

interface SessionRow { id: string; started_at: string; risk_score: number; flags: Array<{ kind: string; detail: string }> }

let fx: SshFixture;
const MB = 1024 * 1024;
// The CLI's main() in process: each poll would otherwise spawn a ~1 s CLI (cli-rules proves the binary).
const sessions = async (): Promise<SessionRow[]> => JSON.parse((await adminIn(fx.gw, ['session', 'list', '--json'])).stdout) as SessionRow[];
const exportFlag = (s: SessionRow | undefined): string | undefined => s?.flags.find((f) => f.kind === 'mass-export')?.detail;

beforeAll(async () => {
  fx = await startSshFixture({ PORTCULLIS_RISK_EXPORT_BYTES: '4MiB' });
  fx.grant('ops', 'web01', '30m');
}, 120_000);

afterAll(async () => { await fx?.stop(); });

describe('mass export over SSH', () => {
  it('does not flag an upload, flags an scp download and an exec that prints more than the threshold', async () => {
    const scp = requireBinary('openssh-client', 'scp');
    const opts = ['-P', String(fx.gw.ports.ssh), '-i', fx.opsKey, '-o', 'BatchMode=yes', ...fx.sshOpts().slice(2)];
    const src = join(fx.dir, 'risk-up.bin');
    writeFileSync(src, randomBytes(8 * MB));
    expect(run(scp, [...opts, src, 'ops+web01@127.0.0.1:/tmp/pc-risk.bin']).status).toBe(0);
    await waitFor('the upload session ended', async () => { const l = await sessions(); return l.length === 1 && l[0]!.flags.length > 0; }, 10_000);
    expect(exportFlag((await sessions())[0])).toBeUndefined();
    expect(run(scp, [...opts, 'ops+web01@127.0.0.1:/tmp/pc-risk.bin', join(fx.dir, 'risk-down.bin')]).status).toBe(0);
    await waitFor('the download flagged', async () => exportFlag((await sessions())[0]) !== undefined, 10_000);
    expect(exportFlag((await sessions())[0])).toMatch(/^\d+ bytes sent to the client \(threshold 4194304\)$/);
    const r = await fx.ssh('ops+web01', ['head', '-c', String(5 * MB), '/dev/zero']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.length).toBe(5 * MB);
    await waitFor('the exec flagged', async () => { const l = await sessions(); return l.length === 3 && exportFlag(l[0]) !== undefined; }, 10_000);
  });
});
