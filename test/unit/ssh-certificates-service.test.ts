// The SSH certificate service with the real store and a fake clock: who may get a certificate,
// how long it lives (never beyond the sign-in), and that a login with it ends with the sign-in.
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareSshUserCa } from '../../gateway/cluster/ssh-user-ca.js';
import { readCertificate } from '../../gateway/ssh/certs/certificate.js';
import { ed25519Sign, publicKeyLine, rawPublicKey, readKeyLine, signatureBlob } from '../../gateway/ssh/certs/ed25519.js';
import { isPortcullisError } from '../../gateway/util/errors.js';
import { testApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
beforeEach(async () => {
  t = await testApp({ config: (c) => { c.ssh.certificateTtl = '8h'; } });
  await prepareSshUserCa(t.dir, null);
});
afterEach(async () => { await t.close(); });

const key = generateKeyPairSync('ed25519');
const line = publicKeyLine(rawPublicKey(key.publicKey));
const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: unknown) => (isPortcullisError(e) ? e.code : String(e)));

describe('SSH certificate service', () => {
  it('issues for a signed-in person, valid until the sign-in or the ttl ends, whichever is first', async () => {
    const alice = await t.user('alice', ['ops']);
    const short = await t.app.authn.issueToken('alice', alice, 'login', 3_600_000);
    const a = await t.app.sshCerts.issue(alice, short.token, line);
    expect(a.validBefore).toBe(Math.floor((t.clock.now() + 3_600_000) / 1000) * 1000);
    const long = await t.app.authn.issueToken('alice', alice, 'login', 48 * 3_600_000);
    const b = await t.app.sshCerts.issue(alice, long.token, line);
    expect(b.validBefore).toBe(Math.floor((t.clock.now() + 8 * 3_600_000) / 1000) * 1000);
    const cert = readCertificate(readKeyLine(b.certificate, 'cert').blob);
    expect(cert.principals).toEqual(['alice']);
    expect(cert.validAfter).toBe(BigInt(Math.floor(t.clock.now() / 1000) - 60));
    expect(cert.criticalOptions).toEqual([]);
  });

  it('refuses service accounts, another user\'s token, and keys that are not Ed25519', async () => {
    const alice = await t.user('alice', ['ops']);
    const bob = await t.user('bob', ['ops']);
    const svc = await t.app.users.add('admin', { name: 'robot', roles: ['ops'], kind: 'service' });
    const svcTok = await t.app.authn.issueToken('admin', svc, 'api', null);
    expect(await code(t.app.sshCerts.issue(svc, svcTok.token, line))).toBe('forbidden');
    const bobTok = await t.app.authn.issueToken('bob', bob, 'login', 3_600_000);
    expect(await code(t.app.sshCerts.issue(alice, bobTok.token, line))).toBe('unauthenticated');
    const aliceTok = await t.app.authn.issueToken('alice', alice, 'login', 3_600_000);
    expect(await code(t.app.sshCerts.issue(alice, aliceTok.token, 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ x'))).toBe('bad-request');
    expect(await code(t.app.sshCerts.issue(alice, aliceTok.token, 'garbage'))).toBe('bad-request');
  });

  it('logs in with a valid signature, and not once the sign-in has expired (injected clock)', async () => {
    const alice = await t.user('alice', ['ops']);
    const tok = await t.app.authn.issueToken('alice', alice, 'login', 3_600_000);
    // The ttl (8h) is longer than the sign-in (1h): the certificate ends with the sign-in.
    const issued = await t.app.sshCerts.issue(alice, tok.token, line);
    const blob = readKeyLine(issued.certificate, 'cert').blob;
    const signed = Buffer.from('session-id+request');
    const sig = signatureBlob(ed25519Sign(key.privateKey, signed));
    expect((await t.app.sshCerts.login('alice', blob, signed, sig, '127.0.0.1')).name).toBe('alice');
    expect(await code(t.app.sshCerts.login('alice', blob, Buffer.from('other'), sig, '127.0.0.1'))).toBe('invalid-credentials');
    expect(await t.app.sshCerts.probe('alice', blob, '127.0.0.1')).toBe(true);
    t.clock.advance(3_600_000);
    expect(await t.app.sshCerts.probe('alice', blob, '127.0.0.1')).toBe(false);
    expect(await code(t.app.sshCerts.login('alice', blob, signed, sig, '127.0.0.1'))).toBe('invalid-credentials');
  });
});
