// init and serve as an operator meets them: idempotent init, printed config, clean drain on SIGTERM.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startProc, tempDir, waitFor } from '../harness/common.js';
import { BIN, cli } from '../harness/gateway.js';

describe('init and serve', () => {
  it('creates a data dir with private files, refuses a second init, and accepts --if-missing', () => {
    const data = join(tempDir('init'), 'data');
    const r = cli(['init', '--data', data]);
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['state.db', 'master.key', 'admin.token', 'ssh_host_ed25519_key', 'certs/ca.crt', 'certs/server.key']) {
      expect(existsSync(join(data, f)), f).toBe(true);
    }
    for (const f of ['master.key', 'admin.token', 'ssh_host_ed25519_key', 'certs/ca.key', 'certs/server.key']) {
      expect(statSync(join(data, f)).mode & 0o077, f).toBe(0);
    }
    expect(cli(['init', '--data', data]).stderr).toMatch(/already initialized.*\(conflict\)/);
    expect(cli(['init', '--data', data, '--if-missing']).code).toBe(0);
  });

  it('prints the merged configuration: file, then environment, then flags', () => {
    const data = join(tempDir('cfg'), 'data');
    cli(['init', '--data', data]);
    const r = cli(['serve', '--data', data, '--print-config', '--ssh-port', '2022'], { env: { PORTCULLIS_HTTP_PORT: '9443', PORTCULLIS_SSH_PORT: '3000' } });
    const c = JSON.parse(r.stdout) as { http: { port: number }; ssh: { port: number }; postgres: { port: number } };
    expect(c).toMatchObject({ http: { port: 9443 }, ssh: { port: 2022 }, postgres: { port: 15432 } });
  });

  it('drains and exits cleanly on SIGTERM', async () => {
    const data = join(tempDir('drain'), 'data');
    cli(['init', '--data', data]);
    // Every port on 0: the defaults (2222, 15432, 13306) may be taken on a shared machine.
    const proc = startProc(process.execPath, [BIN, 'serve', '--data', data, '--http-port', '0'],
      { env: { ...process.env, PORTCULLIS_SSH_PORT: '0', PORTCULLIS_POSTGRES_PORT: '0', PORTCULLIS_MYSQL_PORT: '0' } });
    await waitFor('serve', () => existsSync(join(data, 'serve.json')), 20_000, proc);
    expect(cli(['user', 'list', '--data', data]).code).toBe(0);
    proc.child.kill('SIGTERM');
    await waitFor('exit', () => proc.child.exitCode !== null, 15_000);
    expect(proc.child.exitCode).toBe(0);
    expect(existsSync(join(data, 'serve.json'))).toBe(false);
    expect(proc.output()).toMatch(/"msg":"serve.stopped"/);
  });

  it('gives a usage error and exit code 2 for unknown commands and missing arguments', () => {
    expect(cli(['frobnicate']).code).toBe(2);
    expect(cli(['request']).stderr).toMatch(/usage: portcullis request TARGET/);
  });
});
