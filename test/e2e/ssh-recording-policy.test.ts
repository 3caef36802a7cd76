// Policy knobs of the recording: full capture of command output, and keystrokes off.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/common.js';
import { type SshFixture, startSshFixture } from '../harness/ssh-fixture.js';
import { execCaptureFile, RecordingLayout, recordingsRoot } from '../../recorder/layout.js';

let fx: SshFixture;

beforeAll(async () => {
  fx = await startSshFixture();
  fx.gw.admin(['policy', 'add', 'full', '--roles', 'ops', '--targets', 'web01', '--approvals', '0', '--full-capture', '--no-record-keystrokes']);
  fx.gw.login('ops', 'ops-Password-1');
  expect(fx.gw.as('ops', ['request', 'web01', '--for', '10m', '--reason', 'capture']).code).toBe(0);
}, 120_000);

afterAll(async () => { await fx?.stop(); });

describe('recording policy', () => {
  it('keeps the whole output of a command when the policy asks for full capture', async () => {
    const r = await fx.ssh('ops+web01', ['head -c 300000 /dev/urandom | base64; echo to-stderr >&2']);
    expect(r.status).toBe(0);
    const root = recordingsRoot(fx.gw.dataDir);
    // The first exec of a session without a pty is capture number 1.
    const captureFile = (): string | undefined => readdirSync(root).map((d) => RecordingLayout.of(root, d).execCapture(1, 'stdout')).find((f) => existsSync(f));
    // The capture is complete once the recording has written what the client received.
    await waitFor('the full capture', () => { const f = captureFile(); return f !== undefined && readFileSync(f).length === r.stdout.length; }, 5000);
    const stdoutFile = captureFile()!;
    const captured = readFileSync(stdoutFile);
    expect(captured.length).toBe(r.stdout.length);
    expect(createHash('sha256').update(captured).digest('hex')).toBe(createHash('sha256').update(r.stdout).digest('hex'));
    const stderrFile = stdoutFile.replace(execCaptureFile(1, 'stdout'), execCaptureFile(1, 'stderr'));
    await waitFor('the stderr capture', () => readFileSync(stderrFile, 'utf8') === 'to-stderr\n', 5000);
  });

  it('records no keystrokes when the policy turns them off', async () => {
    const r = await fx.ssh('ops+web01', ['read -p "name? " x; echo "hi $x"'], { input: 'typed-by-user\n', extra: ['-tt'] });
    expect(r.stdout.toString()).toMatch(/hi typed-by-user/);
    const root = recordingsRoot(fx.gw.dataDir);
    await waitFor('the terminal recording', () => readdirSync(root).some((d) => RecordingLayout.of(root, d).castChannels().length > 0), 5000);
    const casts = readdirSync(root).flatMap((d) => { const layout = RecordingLayout.of(root, d); return layout.castChannels().map((n) => readFileSync(layout.cast(n), 'utf8')); });
    expect(casts.length).toBeGreaterThan(0);
    const inputEvents = casts.join('\n').split('\n').filter((l) => l.includes('"i"'));
    expect(inputEvents).toEqual([]);
  });
});
