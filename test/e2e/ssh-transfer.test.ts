// scp and sftp through the gateway with large files, checksummed; and several channels over one
// OpenSSH ControlMaster connection.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, run, startProc, waitFor } from '../harness/common.js';
import { type SshFixture, readRecordings, startSshFixture } from '../harness/ssh-fixture.js';

let fx: SshFixture;
const MB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  fx = await startSshFixture();
  fx.grant('ops', 'web01', '30m');
}, 120_000);

afterAll(async () => { await fx?.stop(); });

describe('file transfer through Portcullis', () => {
  it('copies a 50 MB file both ways with scp', async () => {
    const scp = requireBinary('openssh-client', 'scp');
    const src = join(fx.dir, 'up.bin');
    const data = randomBytes(50 * MB);
    writeFileSync(src, data);
    const opts = ['-P', String(fx.gw.ports.ssh), '-i', fx.opsKey, '-o', 'BatchMode=yes', ...fx.sshOpts().slice(2)];
    const up = run(scp, [...opts, src, 'ops+web01@127.0.0.1:/tmp/pc-scp-up.bin']);
    expect(up.status, up.stderr).toBe(0);
    const back = join(fx.dir, 'back.bin');
    const down = run(scp, [...opts, 'ops+web01@127.0.0.1:/tmp/pc-scp-up.bin', back]);
    expect(down.status, down.stderr).toBe(0);
    expect(sha(readFileSync(back))).toBe(sha(data));
    // OpenSSH 9's scp speaks SFTP, so its copies show up as file operations too (written as the session closes).
    await waitFor('the file events', () => /"op":"read","path":"\/tmp\/pc-scp-up.bin"/.test(readRecordings(fx.gw.dataDir)), 5000);
    const rec = readRecordings(fx.gw.dataDir);
    expect(rec).toMatch(/"kind":"sftp","op":"write","path":"\/tmp\/pc-scp-up.bin","bytes":52428800,"ok":true/);
    expect(rec).toMatch(/"kind":"sftp","op":"read","path":"\/tmp\/pc-scp-up.bin","bytes":52428800,"ok":true/);
  });

  it('puts and gets a 50 MB file with sftp', async () => {
    const sftp = requireBinary('openssh-client', 'sftp');
    const src = join(fx.dir, 'sftp-up.bin');
    const data = randomBytes(50 * MB);
    writeFileSync(src, data);
    const got = join(fx.dir, 'sftp-got.bin');
    const batch = join(fx.dir, 'batch');
    writeFileSync(batch, `put ${src} /tmp/pc-sftp.bin\nget /tmp/pc-sftp.bin ${got}\nrm /tmp/pc-sftp.bin\n`);
    const r = run(sftp, ['-P', String(fx.gw.ports.ssh), '-i', fx.opsKey, '-o', 'BatchMode=yes', ...fx.sshOpts().slice(2), '-b', batch, 'ops+web01@127.0.0.1']);
    expect(r.status, r.stderr).toBe(0);
    expect(sha(readFileSync(got))).toBe(sha(data));
    await waitFor('the file events', () => /"op":"remove","path":"\/tmp\/pc-sftp.bin"/.test(readRecordings(fx.gw.dataDir)), 5000);
    const events = readRecordings(fx.gw.dataDir).split('\n').filter((l) => l.includes('"kind":"sftp"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toEqual(expect.arrayContaining([
      expect.objectContaining({ op: 'write', path: '/tmp/pc-sftp.bin', bytes: 50 * MB, ok: true }),
      expect.objectContaining({ op: 'read', path: '/tmp/pc-sftp.bin', bytes: 50 * MB, ok: true }),
      expect.objectContaining({ op: 'remove', path: '/tmp/pc-sftp.bin', ok: true }),
    ]));
  });

  it('carries two channels over one ControlMaster connection', async () => {
    const ssh = requireBinary('openssh-client', 'ssh');
    const control = join(fx.dir, 'cm.sock');
    const base = [...fx.sshOpts(['-i', fx.opsKey, '-o', 'BatchMode=yes', '-o', `ControlPath=${control}`])];
    const master = startProc(ssh, ['-M', '-N', ...base, 'ops+web01@127.0.0.1']);
    try {
      await waitFor('control socket', () => run(ssh, ['-O', 'check', ...base, 'ops+web01@127.0.0.1']).status === 0, 20_000, master);
      const [a, b] = await Promise.all([
        fx.ssh('ops+web01', ['sleep 1; echo first'], { extra: ['-o', `ControlPath=${control}`] }),
        fx.ssh('ops+web01', ['sleep 1; echo second'], { extra: ['-o', `ControlPath=${control}`] }),
      ]);
      expect(a.stdout.toString()).toBe('first\n');
      expect(b.stdout.toString()).toBe('second\n');
      const sessions = JSON.parse(fx.gw.admin(['session', 'list', '--live', '--json']).stdout) as unknown[];
      expect(sessions).toHaveLength(1);
    } finally {
      run(ssh, ['-O', 'exit', ...base, 'ops+web01@127.0.0.1']);
      await master.stop();
    }
  });
});
