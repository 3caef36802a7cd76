// `portcullis serve` that cannot take a port (another process listens there) exits with the error,
// promptly and non-zero, and leaves no serve.json: a supervisor sees a failed start and restarts it,
// instead of a process that idles with some listeners bound and nothing announced.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../harness/gateway.js';

let dir: string;
let taken: Server;
let port = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'portcullis-startfail-'));
  taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  port = (taken.address() as { port: number }).port;
});
afterAll(() => {
  taken.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('serve that cannot bind a port', () => {
  it('exits non-zero with the address in its error, and announces nothing', async () => {
    const env = { ...process.env, PORTCULLIS_DATA: '', PORTCULLIS_HOME: join(dir, 'home'), PORTCULLIS_HTTP_PORT: '0', PORTCULLIS_SSH_PORT: '0', PORTCULLIS_POSTGRES_PORT: String(port), PORTCULLIS_MYSQL_PORT: '0' };
    const data = join(dir, 'data');
    execFileSync(process.execPath, [BIN, 'init', '--data', data], { env });
    const t0 = Date.now();
    const child = spawn(process.execPath, [BIN, 'serve', '--data', data], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => { child.kill('SIGKILL'); resolve(null); }, 30_000);
      // 'close', not 'exit': the last stderr line (the error) may arrive after 'exit'.
      child.once('close', (c) => { clearTimeout(t); resolve(c); });
    });
    expect(code, out).toBe(1);
    expect(Date.now() - t0).toBeLessThan(25_000);
    expect(out).toContain(`EADDRINUSE: address already in use 127.0.0.1:${port}`);
    expect(existsSync(join(data, 'serve.json'))).toBe(false);
    expect(out).not.toContain('"msg":"serve.started"');
  }, 60_000);
});
