// The decision whether a database target's certificate may receive the vaulted credential
// (net/tls-verdict.ts), over every combination of settings and what a handshake can show, and the
// handshake that gathers those facts (net/upstream-tls.ts) against a local TLS server presenting
// the test CA's certificate, another name's, a rogue CA's with the same CA name, and a self-signed one.
import { createServer as createTcpServer, connect, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { UpstreamTlsError, verifiedTls } from '../../gateway/net/upstream-tls.js';
import { judgeCertificate, parseFingerprint, settingsProblem, type PresentedCertificate, type TlsSettings } from '../../gateway/net/tls-verdict.js';
import { caSignedFor, pemFingerprint, rogueCaSigned, selfSigned, testTls } from '../harness/test-ca.js';

const FP_A = 'sha256:' + 'a'.repeat(64);
const FP_B = 'sha256:' + 'b'.repeat(64);
const base: TlsSettings = { target: 'db01', host: 'db.example', mode: 'verify-full', caPem: null, fingerprint: null, allowUnverified: false };
const good: PresentedCertificate = { fingerprint: FP_A, chainError: null, nameError: null };

describe('fingerprints', () => {
  it('reads sha256:hex in any case, with colons, and openssl output; refuses everything else', () => {
    expect(parseFingerprint(FP_A)).toBe(FP_A);
    expect(parseFingerprint('SHA256:' + 'A'.repeat(64))).toBe(FP_A);
    expect(parseFingerprint('sha256 Fingerprint=' + Array(32).fill('AA').join(':'))).toBe(FP_A);
    expect(parseFingerprint('sha256:' + Array(32).fill('aa').join(':'))).toBe(FP_A);
    for (const bad of ['', 'sha256:', 'a'.repeat(64).slice(1), 'sha1:' + 'a'.repeat(40), 'sha256:' + 'g'.repeat(64), FP_A + 'a',
      'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU', 'sha256:' + Array(32).fill('aa').join('::')]) {
      expect(parseFingerprint(bad), bad).toBeNull();
    }
  });
});

describe('the verdict', () => {
  it('a pin decides alone: match passes whatever the chain and name, mismatch refuses even a perfect chain', () => {
    const pinned = { ...base, fingerprint: FP_A };
    expect(judgeCertificate(pinned, { fingerprint: FP_A, chainError: 'SELF_SIGNED_CERT_IN_CHAIN', nameError: 'no' })).toMatchObject({ ok: true, by: 'pin' });
    const r = judgeCertificate(pinned, { ...good, fingerprint: FP_B });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/db01's TLS certificate \(sha256:b{64}\) is not the pinned one \(sha256:a{64}\); the credential was not sent.*fetch-cert/);
  });

  it('a pin with a CA needs both (and the name in verify-full)', () => {
    const both = { ...base, fingerprint: FP_A, caPem: 'PEM' };
    expect(judgeCertificate(both, good).ok).toBe(true);
    expect(judgeCertificate(both, { ...good, chainError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })).toMatchObject({ ok: false, reason: expect.stringMatching(/not signed by the target's CA/) as unknown });
    expect(judgeCertificate(both, { ...good, nameError: 'Hostname/IP does not match' }).ok).toBe(false);
    expect(judgeCertificate({ ...both, mode: 'verify-ca' }, { ...good, nameError: 'x' }).ok).toBe(true);
  });

  it('verify-full needs chain and name; verify-ca only the chain', () => {
    expect(judgeCertificate(base, good)).toMatchObject({ ok: true, by: 'ca' });
    expect(judgeCertificate(base, { ...good, chainError: 'DEPTH_ZERO_SELF_SIGNED_CERT' })).toMatchObject({ ok: false, reason: expect.stringMatching(/not signed by any of the system CAs \(DEPTH_ZERO_SELF_SIGNED_CERT\)/) as unknown });
    expect(judgeCertificate(base, { ...good, nameError: "Host: db.example. is not in the cert's altnames" })).toMatchObject({ ok: false, reason: expect.stringMatching(/is not for db.example/) as unknown });
    const ca = { ...base, mode: 'verify-ca' as const };
    expect(judgeCertificate(ca, { ...good, nameError: 'x' })).toMatchObject({ ok: true, by: 'ca' });
    expect(judgeCertificate(ca, { ...good, chainError: 'x' }).ok).toBe(false);
  });

  it('require verifies with a CA when it has one, and without CA or pin only by the named opt-in', () => {
    const req = { ...base, mode: 'require' as const };
    expect(settingsProblem(req)).toMatch(/tls require without a CA or a pinned certificate.*--tls-fingerprint.*--tls-ca.*--allow-weak-upstream-auth/);
    expect(judgeCertificate(req, good).ok).toBe(false);
    expect(judgeCertificate({ ...req, allowUnverified: true }, { ...good, chainError: 'x', nameError: 'y' })).toMatchObject({ ok: true, by: 'unverified' });
    expect(settingsProblem({ ...req, allowUnverified: true })).toBeNull();
    expect(settingsProblem({ ...req, caPem: 'PEM' })).toBeNull();
    expect(settingsProblem({ ...req, fingerprint: FP_A })).toBeNull();
    expect(judgeCertificate({ ...req, caPem: 'PEM' }, { ...good, nameError: 'x' })).toMatchObject({ ok: true, by: 'ca' });
    expect(judgeCertificate({ ...req, caPem: 'PEM' }, { ...good, chainError: 'x' }).ok).toBe(false);
    for (const mode of ['verify-ca', 'verify-full'] as const) expect(settingsProblem({ ...req, mode })).toBeNull();
  });
});

describe('the handshake against a local TLS server', () => {
  const servers: Server[] = [];
  afterAll(() => { for (const s of servers) s.close(); });

  /** A TLS server with this certificate; resolves its port and what it decrypted from each client. */
  async function serve(cert: { certPem: string; keyPem: string }): Promise<{ port: number; received: () => number }> {
    let got = 0;
    const s = createTlsServer({ cert: cert.certPem, key: cert.keyPem }, (c) => { c.on('data', (d: Buffer) => { got += d.length; }); c.on('error', () => undefined); });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return { port: (s.address() as { port: number }).port, received: () => got };
  }
  const raw = (port: number): Promise<ReturnType<typeof connect>> => new Promise((r) => { const c = connect(port, '127.0.0.1', () => r(c)); });
  const settings = (over: Partial<TlsSettings>): TlsSettings => ({ ...base, host: '127.0.0.1', caPem: testTls().caPem, ...over });

  it('accepts the CA-signed certificate for the host, by CA (verify-full) and by pin', async () => {
    const srv = await serve(testTls().server);
    const v = await verifiedTls(await raw(srv.port), settings({}));
    expect(v.verdict).toMatchObject({ ok: true, by: 'ca' });
    v.socket.destroy();
    const p = await verifiedTls(await raw(srv.port), settings({ caPem: null, fingerprint: testTls().fingerprint }));
    expect(p.verdict).toMatchObject({ ok: true, by: 'pin' });
    p.socket.destroy();
  });

  it('refuses another name under verify-full, accepts it under verify-ca', async () => {
    const srv = await serve(caSignedFor(['other.example']));
    await expect(verifiedTls(await raw(srv.port), settings({}))).rejects.toThrow(/is not for 127.0.0.1/);
    const v = await verifiedTls(await raw(srv.port), settings({ mode: 'verify-ca' }));
    v.socket.destroy();
  });

  it('refuses a self-signed certificate and one from a rogue CA with the same name; their pins do not match the real one', async () => {
    for (const cert of [selfSigned(), rogueCaSigned()]) {
      const srv = await serve(cert);
      await expect(verifiedTls(await raw(srv.port), settings({}))).rejects.toThrow(UpstreamTlsError);
      await expect(verifiedTls(await raw(srv.port), settings({ caPem: null, fingerprint: testTls().fingerprint }))).rejects.toThrow(/is not the pinned one/);
      // ...while pinning the impostor's own certificate would pass: the pin is exact.
      const v = await verifiedTls(await raw(srv.port), settings({ caPem: null, fingerprint: pemFingerprint(cert.certPem) }));
      v.socket.destroy();
      expect(srv.received()).toBe(0);
    }
  });

  it('reports a server that is not TLS as a failed handshake', async () => {
    const plain = createTcpServer((c) => { c.end('not tls at all\n'); });
    servers.push(plain);
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    await expect(verifiedTls(await raw((plain.address() as { port: number }).port), settings({}))).rejects.toThrow(/TLS handshake with 127.0.0.1/);
  });
});
