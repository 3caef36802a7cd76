// `portcullis target rotate` through the built CLI and the HTTPS API of a real serve: a clear error
// for an unknown target and for a target that cannot be rotated (here one nothing listens for:
// without a provisioner for its kind, or with one, the change cannot be sent), the vaulted
// credential untouched, and the secret nowhere in the CLI's output or the gateway's log. Real
// rotations against PostgreSQL, MariaDB and sshd come with the protocol provisioners.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayPeer, json, startGateway } from '../harness/gateway.js';

let gw: GatewayPeer;
const CANARY = 'Canary-Rotate-Secret-5d1e';

beforeAll(async () => { gw = await startGateway(); }, 120_000);
afterAll(async () => { await gw?.stop(); });

describe('portcullis target rotate', () => {
  it('names the command when NAME is missing, and refuses an unknown target', () => {
    expect(gw.admin(['target', 'rotate']).stderr).toMatch(/portcullis target rotate NAME/);
    const r = gw.admin(['target', 'rotate', 'nope']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no target "nope"/);
  });

  it('a target that cannot be rotated gets a clear error; its credential is kept and never shown', () => {
    const add = gw.admin(['target', 'add', 'web01', '--kind', 'ssh', '--host', '127.0.0.1', '--port', '1', '--account', 'root',
      '--password-stdin', '--host-key', 'SHA256:' + 'A'.repeat(43)], `${CANARY}\n`);
    expect(add.code, add.stderr).toBe(0);
    const r = gw.admin(['target', 'rotate', 'web01']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cannot rotate their credential|rotating the credential of web01 failed at set: .*the vault holds the old secret/);
    expect(r.stdout + r.stderr + gw.log()).not.toContain(CANARY);
    const t = json<Array<{ name: string }>>(gw.admin(['target', 'list', '--json']));
    expect(t.map((x) => x.name)).toContain('web01');
  });
});
