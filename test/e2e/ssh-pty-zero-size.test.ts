// A pty requested as 0x0: OpenSSH's `ssh -tt` with stdin from a pipe, as automation runs it,
// through the gateway to a real sshd. The target gets the request as the client sent it (as it
// would directly), and the recording gets a real size, 80x24, so asciinema and the web
// player play it.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, runOk, waitFor } from '../harness/common.js';
import { latestClosedSession, type SshFixture, startSshFixture } from '../harness/ssh-fixture.js';
import type { KeyframeFile } from '../../recorder/keyframes.js';
import { RecordingLayout } from '../../recorder/layout.js';

let fx: SshFixture;

beforeAll(async () => {
  fx = await startSshFixture();
  fx.grant('ops', 'web01', '30m');
}, 120_000);

afterAll(async () => { await fx?.stop(); });

describe('ssh -tt with stdin not a terminal through Portcullis', () => {
  let castPath = '';

  it('leaves the target the 0x0 pty the client asked for, and records the session as 80x24', async () => {
    // stdin is a pipe, so OpenSSH has no size to send: its pty-req says 0 columns and 0 rows.
    const r = await fx.ssh('ops+web01', ['stty size; echo "tty=$(tty)"; echo zero-pty-done'], { extra: ['-tt'], input: '' });
    expect(r.status).toBe(0);
    const out = r.stdout.toString();
    expect(out).toMatch(/^0 0\r?$/m);
    expect(out).toMatch(/tty=\/dev\/pts\//);
    expect(out).toContain('zero-pty-done');

    const id = await latestClosedSession(fx.gw);
    const layout = RecordingLayout.inDataDir(fx.gw.dataDir, id);
    expect(layout.castChannels()).toHaveLength(1);
    castPath = layout.cast(layout.castChannels()[0]!);
    const cast = readFileSync(castPath, 'utf8');
    const header = JSON.parse(cast.split('\n')[0]!) as { version: number; width: number; height: number; command?: string };
    expect(header).toMatchObject({ version: 2, width: 80, height: 24 });
    expect(header.command).toContain('zero-pty-done');
    expect(cast).toContain('zero-pty-done');
    // The web player starts from the keyframe index (written by the post-close pool after the
    // end): a 0x0 header made it a 2x1 terminal there.
    const sidecar = layout.keyframes(layout.castChannels()[0]!);
    await waitFor('keyframe sidecar', () => existsSync(sidecar), 30_000);
    const index = JSON.parse(readFileSync(sidecar, 'utf8')) as KeyframeFile;
    expect(index.frames[0]).toMatchObject({ cols: 80, rows: 24 });
  });

  it('writes a recording that asciinema accepts', () => {
    expect(castPath).not.toBe('');
    const asciinema = requireBinary('asciinema', 'asciinema');
    // asciinema insists on a terminal even for `cat`; script(1) gives it one (DESIGN.md section 10).
    const out = runOk('script', ['-qec', `${asciinema} cat ${castPath}`, '/dev/null']);
    expect(out).toContain('zero-pty-done');
  });
});
