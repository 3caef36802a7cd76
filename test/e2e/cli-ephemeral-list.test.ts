// `portcullis ephemeral list` and the ephemeral settings through the real CLI and serve: the
// listing answers (empty, filtered, unknown target refused), `target remove --force` goes through
// the API, and the reconcile settings show in the printed configuration. Accounts created on real
// PostgreSQL, MariaDB and sshd are the provisioners' e2e tests.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../harness/common.js';
import { cli, type GatewayPeer, startGateway } from '../harness/gateway.js';

let gw: GatewayPeer;
beforeAll(async () => { gw = await startGateway(); }, 60_000);
afterAll(async () => { await gw.stop(); });

describe('ephemeral accounts through the CLI', () => {
  it('lists none on a fresh gateway, as a table and as JSON, and refuses an unknown target', () => {
    expect(gw.admin(['ephemeral', 'list']).stdout).toBe('(none)\n');
    const json = gw.admin(['ephemeral', 'list', '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([]);
    const r = gw.admin(['ephemeral', 'list', '--target', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no target "nope"');
    expect(gw.admin(['ephemeral', 'list', '--limit', 'x']).code).toBe(2);
  });

  it('removes a target with --force through the API', () => {
    const add = gw.admin(['target', 'add', 'db9', '--kind', 'postgres', '--host', '127.0.0.1', '--port', '5999', '--account', 'app', '--password-stdin', '--tls', 'disable'], 'pw-9\n');
    expect(add.code, add.stderr).toBe(0);
    const rm = gw.admin(['target', 'remove', 'db9', '--force']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(gw.admin(['ephemeral', 'list', '--target', 'db9']).stderr).toContain('no target "db9"');
  });

  it('prints the reconcile settings, with the environment over the defaults', () => {
    const data = join(tempDir('eph-cfg'), 'data');
    cli(['init', '--data', data]);
    const r = cli(['serve', '--data', data, '--print-config'], { env: { PORTCULLIS_EPHEMERAL_RECONCILE_INTERVAL: '5s' } });
    expect((JSON.parse(r.stdout) as { ephemeral: unknown }).ephemeral).toEqual({ reconcileInterval: '5s', dropAlertAfter: 3 });
    const bad = cli(['serve', '--data', data, '--print-config'], { env: { PORTCULLIS_EPHEMERAL_DROP_ALERT_AFTER: '0' } });
    expect(bad.stderr).toContain('ephemeral.dropAlertAfter must be a whole number from 1 to 1000');
  });
});
