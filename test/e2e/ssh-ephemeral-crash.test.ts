// A `kill -9` of the built gateway while alice holds a short grant on an ephemeral SSH target and
// has a session open: the grant ends while the gateway is down, and once it is started again on
// the same data dir its reconciler (1 s interval) removes the OS user within seconds, its
// processes with it. Every OS user made here is removed in afterAll, pass or fail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, waitFor } from '../harness/common.js';
import { type EphemeralSshWorld, startEphemeralSshWorld } from '../harness/ssh-ephemeral-gw.js';
import { homeExists, userExists } from '../harness/ssh-provisioner-host.js';

let w: EphemeralSshWorld;

beforeAll(async () => {
  w = await startEphemeralSshWorld();
  w.addUser('alice');
  w.addEphemeralTarget('web');
}, 90_000);

afterAll(async () => { await w?.cleanup(); }, 60_000);

describe('an ephemeral SSH user across a gateway crash', () => {
  it('is removed within seconds of a restart when its grant ended while the gateway was down', async () => {
    const grantId = w.grant('alice', 'web', '20s');
    const s = w.sshLong('alice', 'alice+web', 'exec sleep 1000');
    const account = await w.liveAccountOf('web', 'alice');
    await waitFor('the session to start', () => run('pgrep', ['-u', account, '-f', '^sleep 1000$']).status === 0, 20_000);
    const expiresAt = Date.parse(w.ephemeral('web').find((e) => e.account === account)!.expires_at);
    await w.gw.crash();
    expect(await s.ended).not.toBe(0);
    // The gateway is down: nothing removes the user until its grant is over and serve runs again.
    expect(userExists(account)).toBe(true);
    await waitFor('the grant to end while the gateway is down', () => Date.now() > expiresAt + 500, 30_000);
    expect(userExists(account)).toBe(true);
    await w.gw.restart();
    const t0 = Date.now();
    await waitFor('the OS user to be removed after the restart', () => !userExists(account), 15_000);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(homeExists(account)).toBe(false);
    expect(run('pgrep', ['-u', account]).status).not.toBe(0);
    await waitFor('the account to be booked as dropped', () =>
      w.ephemeral('web').find((e) => e.account === account)?.state === 'dropped', 10_000);
    expect(w.ephemeral('web').find((e) => e.account === account)?.grant).toBe(grantId);
    // Both ends are in the audit log, the drop by the restarted gateway.
    const audit = w.gw.admin(['audit', 'export']).stdout;
    expect(audit).toMatch(new RegExp(`"code":"ephemeral.created".*"account":"${account}"`));
    expect(audit).toMatch(new RegExp(`"code":"ephemeral.dropped".*"account":"${account}"`));
  });
});
