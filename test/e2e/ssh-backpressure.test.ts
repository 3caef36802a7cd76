// Floods against stalled readers, both ways: the gateway's memory must stay bounded (SSH windows
// and stream backpressure hold the data back at its source), and the session must recover.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SshFixture, startSshFixture } from '../harness/ssh-fixture.js';

let fx: SshFixture;
const MiB = 1024 * 1024;

beforeAll(async () => {
  fx = await startSshFixture();
  fx.grant('ops', 'web01', '30m');
}, 120_000);

afterAll(async () => { await fx?.stop(); });

function gatewayRss(): number {
  const pid = (JSON.parse(readFileSync(`${fx.gw.dataDir}/serve.json`, 'utf8')) as { pid: number }).pid;
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function sshChild(command: string): ReturnType<typeof spawn> {
  return spawn('ssh', [...fx.sshOpts(['-i', fx.opsKey, '-o', 'BatchMode=yes']), 'ops+web01@127.0.0.1', command]);
}

describe('backpressure', () => {
  it('holds a cat /dev/zero flood back while the client does not read, then delivers it', async () => {
    await fx.ssh('ops+web01', ['true']);
    const before = gatewayRss();
    const child = sshChild('cat /dev/zero');
    child.stdout!.pause();
    await sleep(4000);
    const stalled = gatewayRss();
    let got = 0;
    child.stdout!.on('data', (d: Buffer) => { got += d.length; });
    child.stdout!.resume();
    await sleep(1500);
    child.kill('SIGTERM');
    expect(stalled - before).toBeLessThan(64 * MiB);
    expect(got).toBeGreaterThan(10 * MiB);
  }, 30_000);

  it('holds an endless upload back while the remote command does not read', async () => {
    const before = gatewayRss();
    const child = sshChild('sleep 6; head -c 1000000 > /dev/null; echo drained');
    let written = 0;
    let stop = false;
    const chunk = Buffer.alloc(64 * 1024);
    const pump = (): void => {
      while (!stop && child.stdin!.write(chunk)) written += chunk.length;
      if (!stop) child.stdin!.once('drain', () => { written += chunk.length; pump(); });
    };
    child.stdin!.on('error', () => {});
    pump();
    await sleep(4000);
    const stalled = gatewayRss();
    stop = true;
    child.kill('SIGTERM');
    expect(stalled - before).toBeLessThan(64 * MiB);
    // The writer was held back too: far less than it could have pushed in four seconds.
    expect(written).toBeLessThan(64 * MiB);
  }, 30_000);
});
