// Policy knobs of the recording: full capture of command output, and keystrokes off.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SshFixture, startSshFixture } from '../harness/ssh-fixture.js';

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
    const root = join(fx.gw.dataDir, 'recordings');
    const dir = readdirSync(root).map((d) => join(root, d)).find((d) => readdirSync(d).some((f) => f.endsWith('.stdout')))!;
    const file = readdirSync(dir).find((f) => f.endsWith('.stdout'))!;
    const captured = readFileSync(join(dir, file));
    expect(captured.length).toBe(r.stdout.length);
    expect(createHash('sha256').update(captured).digest('hex')).toBe(createHash('sha256').update(r.stdout).digest('hex'));
    expect(readFileSync(join(dir, file.replace('.stdout', '.stderr')), 'utf8')).toBe('to-stderr\n');
  });

  it('records no keystrokes when the policy turns them off', async () => {
    const r = await fx.ssh('ops+web01', ['read -p "name? " x; echo "hi $x"'], { input: 'typed-by-user\n', extra: ['-tt'] });
    expect(r.stdout.toString()).toMatch(/hi typed-by-user/);
    const root = join(fx.gw.dataDir, 'recordings');
    const casts = readdirSync(root).flatMap((d) => readdirSync(join(root, d)).filter((f) => f.endsWith('.cast')).map((f) => readFileSync(join(root, d, f), 'utf8')));
    expect(casts.length).toBeGreaterThan(0);
    const inputEvents = casts.join('\n').split('\n').filter((l) => l.includes('"i"'));
    expect(inputEvents).toEqual([]);
  });
});
