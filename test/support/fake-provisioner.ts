// A fake target provisioner for unit tests of the ephemeral-account services: an in-memory
// AdminSession that records every call, can be taken down, can hold createAccount until released,
// and looks at the store when createAccount is called (the intent row must already be there).
import { randomBytes } from 'node:crypto';
import type { AdminLogin, AdminSession, CreatedAccount, EphemeralAccountSpec } from '../../gateway/provision/provisioner.js';
import { ProvisionError } from '../../gateway/provision/provisioner.js';
import type { AccessLevel, EphemeralState } from '../../gateway/store/records.js';
import type { Store } from '../../gateway/store/store.js';

export interface FakeCall {
  op: 'login' | 'create' | 'drop' | 'check' | 'close' | 'extend';
  account?: string;
  /** create: the state of the account's intent row in the store when createAccount was called. */
  rowState?: EphemeralState | 'missing';
  reassignTo?: string | null;
  keepHome?: boolean;
  validUntil?: number;
}

export class FakeProvisioner {
  readonly calls: FakeCall[] = [];
  /** Accounts that exist on the fake target now. */
  readonly accounts = new Set<string>();
  /** Every secret handed out, to scan logs and audit data for. */
  readonly secrets: string[] = [];
  /** Logins fail as if the target were unreachable. */
  down = false;
  /** createAccount rejects with this (after the row check). */
  createError: ProvisionError | null = null;
  /** What checkProvisioner reports missing. */
  missing: string[] = [];
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;

  constructor(private readonly store: () => Store) {}

  /** createAccount waits until release() is called. */
  hold(): void {
    this.gate = new Promise((r) => { this.open = r; });
  }

  release(): void {
    this.open?.();
    this.gate = null;
  }

  count(op: FakeCall['op']): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  readonly login: AdminLogin = (target, cred) => {
    // The provisioner's own password must arrive intact, then be wiped by the login (contract).
    const ok = cred.secret.toString() === 'provisioner-secret-1';
    cred.wipe();
    this.calls.push({ op: 'login' });
    if (this.down) return Promise.reject(new ProvisionError('unreachable', `connect ECONNREFUSED ${target.host}:${target.port}`));
    if (!ok) return Promise.reject(new ProvisionError('refused', 'password authentication failed'));
    return Promise.resolve(this.session());
  };

  private session(): AdminSession {
    return {
      createAccount: async (spec: EphemeralAccountSpec): Promise<CreatedAccount> => {
        const row = (await this.store().ephemeral.live()).find((r) => r.account === spec.account);
        this.calls.push({ op: 'create', account: spec.account, rowState: row?.state ?? 'missing' });
        if (this.gate) await this.gate;
        if (this.createError) throw this.createError;
        this.accounts.add(spec.account);
        const secret = `Eph-${randomBytes(12).toString('hex')}`;
        this.secrets.push(secret);
        return { kind: 'password', secret: Buffer.from(secret) };
      },
      dropAccount: (account: string, opts: { reassignTo: string | null; keepHome: boolean }): Promise<void> => {
        this.calls.push({ op: 'drop', account, reassignTo: opts.reassignTo, keepHome: opts.keepHome });
        this.accounts.delete(account);
        return Promise.resolve();
      },
      extendAccount: (account: string, validUntil: number): Promise<void> => {
        this.calls.push({ op: 'extend', account, validUntil });
        return Promise.resolve();
      },
      checkProvisioner: (_levels: readonly AccessLevel[]): Promise<string[]> => {
        this.calls.push({ op: 'check' });
        return Promise.resolve([...this.missing]);
      },
      discover: () => Promise.resolve([]),
      setOwnSecret: () => Promise.reject(new ProvisionError('refused', 'not in this fake')),
      close: (): Promise<void> => {
        this.calls.push({ op: 'close' });
        return Promise.resolve();
      },
    };
  }
}
