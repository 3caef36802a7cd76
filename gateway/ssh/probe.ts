// `target test` for SSH targets: a real login with ssh2, the host key checked against the pinned
// fingerprint. Translates ssh2's outcome into a LoginOutcome; reachability, the credential's
// checkout and wiping are the caller's (targets/target-check.ts).
import ssh2 from 'ssh2';
import type { TargetRecord } from '../session/adapter.js';
import { type LoginOutcome, PROBE_TIMEOUT_MS } from '../targets/target-check.js';
import { fingerprint } from './host-key.js';

export function probeSshLogin(t: TargetRecord, cred: { secret: Buffer }): Promise<LoginOutcome> {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    let hostKeyOk = false;
    const done = (r: LoginOutcome): void => { c.end(); resolve(r); };
    c.once('ready', () => done({ ok: true, detail: 'logged in' }));
    c.once('error', (e: Error & { level?: string }) => {
      if (!hostKeyOk) return done({ ok: false, detail: 'host key does not match the pinned fingerprint' });
      done({ ok: false, detail: e.level === 'client-authentication' ? 'upstream refused the vaulted credential' : 'ssh handshake failed' });
    });
    c.connect({
      host: t.host, port: t.port, username: t.account, readyTimeout: PROBE_TIMEOUT_MS,
      ...(t.credentialKind === 'password' ? { password: cred.secret.toString() } : { privateKey: Buffer.from(cred.secret) }),
      hostVerifier: (key: Buffer) => {
        hostKeyOk = fingerprint(key) === t.hostKey;
        return hostKeyOk;
      },
    });
  });
}
