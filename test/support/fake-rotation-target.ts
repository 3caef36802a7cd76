// A fake target account for rotation's unit tests: the set of secrets that log in as it (one
// password, or several authorized private keys), an AdminLogin that checks the login and applies
// setOwnSecret/retireOldKey to that set, and a LoginProbe that logs in against it. Faults are
// switches the tests flip. Decision logic only: real peers are the e2e ring's.
import type { AdminLogin, AdminSession } from '../../gateway/provision/provisioner.js';
import { ProvisionError } from '../../gateway/provision/provisioner.js';
import { publicKeyOf } from '../../gateway/provision/new-secret.js';
import type { LoginProbe } from '../../gateway/targets/target-check.js';

export class FakeRotationTarget {
  /** Secrets that log in now (passwords: one; keys: every authorized private key). */
  accepted: string[];
  /** Every secret setOwnSecret received, to check none leaked. */
  readonly received: string[] = [];
  failSet: string | null = null;
  /** setOwnSecret answers OK but changes nothing (a target that ignored it). */
  ignoreSet = false;
  /** The probe refuses this secret even though the account accepts it (a network fault while verifying). */
  probeRefuses: ((secret: string) => boolean) | null = null;
  /** Resolved by the test to let a held setOwnSecret go on. */
  holdSet: Promise<void> | null = null;
  /** The target cannot be reached: logins and probes fail. */
  down = false;
  setCalls = 0;
  retireCalls = 0;
  logins = 0;

  constructor(readonly kind: 'password' | 'private-key', initial: string) {
    this.accepted = [initial];
  }

  logsIn(secret: string): boolean {
    return this.accepted.includes(secret);
  }

  readonly login: AdminLogin = (_t, cred) => {
    const s = cred.secret.toString();
    cred.wipe();
    this.logins++;
    if (this.down) return Promise.reject(new ProvisionError('unreachable', 'connection refused'));
    if (!this.logsIn(s)) return Promise.reject(new ProvisionError('refused', 'authentication failed'));
    const session: AdminSession = {
      createAccount: () => Promise.reject(new Error('not used')),
      dropAccount: () => Promise.reject(new Error('not used')),
      checkProvisioner: () => Promise.resolve([]),
      discover: () => Promise.resolve([]),
      setOwnSecret: async (next) => {
        this.setCalls++;
        const secret = next.toString();
        this.received.push(secret);
        if (this.holdSet) await this.holdSet;
        if (this.failSet !== null) throw new ProvisionError('refused', this.failSet);
        if (this.ignoreSet) return;
        this.accepted = this.kind === 'password' ? [secret] : [...this.accepted, secret];
      },
      ...(this.kind === 'private-key' ? {
        retireOldKey: (keep: string) => {
          this.retireCalls++;
          this.accepted = this.accepted.filter((k) => publicKeyOf(Buffer.from(k)) === keep);
          return Promise.resolve();
        },
      } : {}),
      close: () => Promise.resolve(),
    };
    return Promise.resolve(session);
  };

  readonly probe: LoginProbe = (_t, cred) => {
    const s = cred.secret.toString();
    const ok = !this.down && this.logsIn(s) && !(this.probeRefuses?.(s) ?? false);
    return Promise.resolve({ ok, detail: ok ? 'logged in' : 'authentication failed' });
  };
}
