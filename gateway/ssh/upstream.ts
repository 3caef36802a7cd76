// The upstream leg: an ssh2 client to the target with the vaulted credential. The target's host
// key must match the pinned fingerprint or the connection is refused. The credential buffer is
// wiped as soon as the handshake is done, whichever way it ends.
import ssh2 from 'ssh2';
import type { TargetRecord } from '../session/adapter.js';
import type { UpstreamCredential as CheckedOutCredential } from '../session/credentials.js';
import { UpstreamFailure as SessionUpstreamFailure } from '../session/upstream-failure.js';
import { fingerprint } from './host-key.js';

export type UpstreamFailure = 'host-key-mismatch' | 'auth-failed' | 'unreachable';

export class UpstreamError extends SessionUpstreamFailure {
  constructor(override readonly kind: UpstreamFailure, message: string) {
    super(kind, message);
  }
}

// A backstop only: a session's connect deadline is the pipeline's (session.connectTimeout), which
// aborts `signal`; this bounds callers without one.
const READY_TIMEOUT_MS = 60_000;

export function connectUpstream(target: TargetRecord, cred: CheckedOutCredential, signal?: AbortSignal): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let hostKeyOk = false;
    let settled = false;
    const onAbort = (): void => done(new UpstreamError('unreachable', `cannot connect to ${target.name} (gave up)`));
    const done = (err?: UpstreamError): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      cred.wipe();
      if (err) {
        // end() waits for the handshake to finish; a target that never answers needs the socket dropped.
        client.destroy();
        reject(err);
      } else resolve(client);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    client.once('ready', () => done());
    client.once('error', (e: Error & { level?: string }) => {
      if (!hostKeyOk && e.level !== 'client-socket' && e.level !== 'client-timeout') {
        done(new UpstreamError('host-key-mismatch', `the host key of ${target.name} does not match the pinned one`));
      } else if (e.level === 'client-authentication') {
        done(new UpstreamError('auth-failed', `${target.name} refused the vaulted credential`));
      } else {
        done(new UpstreamError('unreachable', `cannot connect to ${target.name}`));
      }
    });
    client.connect({
      host: target.host, port: target.port, username: cred.account, readyTimeout: READY_TIMEOUT_MS,
      keepaliveInterval: 30_000, keepaliveCountMax: 3,
      ...(cred.kind === 'password' ? { password: cred.secret.toString() } : { privateKey: cred.secret }),
      hostVerifier: (key: Buffer) => {
        hostKeyOk = target.hostKey !== null && fingerprint(key) === target.hostKey;
        return hostKeyOk;
      },
    });
  });
}
