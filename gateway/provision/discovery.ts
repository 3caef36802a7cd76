// Discovery, the protocol-neutral half: log in to a target as its vaulted account, ask the kind's
// AdminSession for the accounts with privilege, say which ones Portcullis manages
// (managed-accounts.ts), and keep what was found (store.findings: first seen kept across runs, last
// seen moved, gone marked, cleared when an account comes back). Each unmanaged account not seen
// before, or seen gone and back, is audited and published once (webhooks alert on it). The per-kind
// listing lives in postgres|mysql|ssh/provisioner.ts; the schedule in discovery-schedule.ts.
// Nothing here ever holds a secret longer than the login: the checked-out credential is wiped
// whatever happens.
import type { AccessEvents } from '../access/events.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { DiscoveryFindingRecord, TargetKind, TargetRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { PortcullisError } from '../util/errors.js';
import type { EventBus } from '../util/event-bus.js';
import { newId } from '../util/ids.js';
import type { CredentialVault } from '../vault/credential-vault.js';
import { type EphemeralOwner, markAccount } from './managed-accounts.js';
import { type AdminLogin, type AdminSession, type PrivilegedAccount, ProvisionError } from './provisioner.js';

/** One account as this run found it. `new`: not seen before, or seen gone and back. */
export interface DiscoveredAccount {
  account: string;
  privileges: string[];
  managed: boolean;
  managedAs: string | null;
  new: boolean;
  firstSeenAt: number;
  lastSeenAt: number;
}

export interface DiscoveryRun {
  target: TargetRecord;
  /** Unmanaged first, then by account name. */
  accounts: DiscoveredAccount[];
  /** Accounts found by an earlier run and not by this one. */
  gone: string[];
}

export type DiscoveryTrigger = 'admin' | 'schedule';

export interface DiscoveryDeps {
  store: Store;
  audit: AuditLog;
  clock: Clock;
  events: EventBus<AccessEvents>;
  creds: CredentialVault;
  adminLogins: Partial<Record<TargetKind, AdminLogin>>;
  /** A close that fails is only logged: the listing is done by then. */
  onCloseError?: (target: string, err: unknown) => void;
}

/** How long one login plus listing may take before the run is given up (a hung target must not hold the schedule). */
export const DISCOVERY_TIMEOUT_MS = 60_000;
/** Bounds on what a target may report, so a hostile or broken one cannot fill the store. */
const MAX_ACCOUNTS = 5000;
const MAX_NAME = 256;
const MAX_PRIVILEGES = 64;

export class DiscoveryService {
  /** One run per target at a time: a scheduled and an admin's run would race on the findings. */
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(private readonly d: DiscoveryDeps) {}

  /** Whether targets of this kind can be discovered (their protocol has a provisioner login). */
  supports(kind: TargetKind): boolean {
    return this.d.adminLogins[kind] !== undefined;
  }

  /** `portcullis discover TARGET`: an admin's run on a target by name. */
  async discover(actor: string, name: string): Promise<DiscoveryRun> {
    const t = await this.d.store.targets.byName(name);
    if (!t) throw new PortcullisError('not-found', `no target "${name}"; see "portcullis target list"`);
    return this.run(t, actor, 'admin');
  }

  /** Stored findings, newest first seen first; `target` narrows to one target (by name). */
  async findings(target?: string): Promise<Array<{ target: TargetRecord; finding: DiscoveryFindingRecord }>> {
    const targets = await this.d.store.targets.list();
    const byId = new Map(targets.map((t) => [t.id, t]));
    let targetId: string | undefined;
    if (target !== undefined) {
      const t = targets.find((x) => x.name === target);
      if (!t) throw new PortcullisError('not-found', `no target "${target}"; see "portcullis target list"`);
      targetId = t.id;
    }
    const rows = await this.d.store.findings.list({ targetId });
    return rows.flatMap((f) => {
      const t = byId.get(f.targetId);
      return t ? [{ target: t, finding: f }] : [];
    });
  }

  /** Runs discovery on one target; rejects with a PortcullisError an admin acts on (audited as discovery.failed). */
  run(target: TargetRecord, actor: string, trigger: DiscoveryTrigger): Promise<DiscoveryRun> {
    const before = this.running.get(target.id) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(() => this.runNow(target, actor, trigger));
    const settled = mine.catch(() => undefined);
    this.running.set(target.id, settled);
    void settled.then(() => { if (this.running.get(target.id) === settled) this.running.delete(target.id); });
    return mine;
  }

  private async runNow(target: TargetRecord, actor: string, trigger: DiscoveryTrigger): Promise<DiscoveryRun> {
    let found: PrivilegedAccount[];
    try {
      found = await this.list(target);
    } catch (err) {
      const e = discoveryError(target, err);
      await this.d.audit.append('discovery.failed', actor, { target: target.name, by: actor, trigger, error: e.message });
      throw e;
    }
    return this.record(target, actor, trigger, found);
  }

  /** Logs in, lists, closes; the credential is wiped whatever happens. */
  private async list(target: TargetRecord): Promise<PrivilegedAccount[]> {
    const login = this.d.adminLogins[target.kind];
    if (!login) throw new PortcullisError('bad-request', `discovery is not available for ${target.kind} targets: this gateway has no ${target.kind} provisioner`);
    // Throws CredentialUnbound (the target was re-pointed outside Portcullis) before anything is sent.
    const c = this.d.creds.checkoutForCheck(target);
    let session: AdminSession | undefined;
    try {
      const opened = login(target, { kind: c.kind, account: c.account, secret: c.secret, wipe: () => c.wipe() });
      try {
        session = await this.deadline(opened, target, 'logging in');
      } catch (err) {
        // Given up on: a session that still opens later is closed as soon as it arrives.
        opened.then((s) => this.close(target, s), () => undefined);
        throw err;
      }
      return sanitize(await this.deadline(session.discover(), target, 'listing accounts'));
    } finally {
      c.wipe();
      if (session) await this.close(target, session);
    }
  }

  private async close(target: TargetRecord, s: AdminSession): Promise<void> {
    try {
      await s.close();
    } catch (err) {
      this.d.onCloseError?.(target.name, err);
    }
  }

  private deadline<T>(p: Promise<T>, target: TargetRecord, step: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const cancel = this.d.clock.schedule(this.d.clock.now() + DISCOVERY_TIMEOUT_MS, () => {
        reject(new PortcullisError('unavailable', `discovery on ${target.name} timed out after ${DISCOVERY_TIMEOUT_MS / 1000}s ${step}`));
      });
      p.then((v) => { cancel(); resolve(v); }, (err: unknown) => { cancel(); reject(err instanceof Error ? err : new Error(String(err))); });
    });
  }

  /** Marks, stores and audits one run's accounts in one transaction; publishes the new unmanaged ones after it. */
  private async record(target: TargetRecord, actor: string, trigger: DiscoveryTrigger, found: PrivilegedAccount[]): Promise<DiscoveryRun> {
    const { store, audit } = this.d;
    const now = this.d.clock.now();
    const owners = await this.owners(target);
    const run = await store.transaction(async () => {
      const accounts: DiscoveredAccount[] = [];
      for (const a of found) {
        const mark = markAccount(target, a.account, owners, now, a.self);
        const prev = await store.findings.byAccount(target.id, a.account);
        const isNew = !prev || prev.goneAt !== null;
        const firstSeenAt = prev?.firstSeenAt ?? now;
        await store.findings.put({
          id: prev?.id ?? newId('dsf'), targetId: target.id, account: a.account, privileges: a.privileges,
          managed: mark.managed, managedAs: mark.managedAs, firstSeenAt, lastSeenAt: now, goneAt: null,
        });
        accounts.push({ account: a.account, privileges: a.privileges, managed: mark.managed, managedAs: mark.managedAs, new: isNew, firstSeenAt, lastSeenAt: now });
      }
      const seen = new Set(found.map((a) => a.account));
      const gone: string[] = [];
      for (const f of await store.findings.list({ targetId: target.id })) {
        if (seen.has(f.account) || f.goneAt !== null) continue;
        await store.findings.put({ ...f, goneAt: now });
        gone.push(f.account);
      }
      accounts.sort((a, b) => Number(a.managed) - Number(b.managed) || a.account.localeCompare(b.account));
      const fresh = accounts.filter((a) => !a.managed && a.new);
      for (const a of fresh) await audit.append('discovery.unmanaged_found', actor, { target: target.name, account: a.account, privileges: a.privileges, trigger });
      await audit.append('discovery.ran', actor, {
        target: target.name, by: actor, trigger, accounts: accounts.length, unmanaged: accounts.filter((a) => !a.managed).length,
        new_unmanaged: fresh.length, gone: gone.length,
      });
      return { target, accounts, gone };
    });
    const at = new Date(now).toISOString();
    for (const a of run.accounts) {
      if (!a.managed && a.new) this.d.events.emit('discovery.unmanaged_found', { target: target.name, account: a.account, privileges: a.privileges, found_at: at });
    }
    return run;
  }

  /** The target's ephemeral accounts not dropped yet, each with its grant and the grant's user. */
  private async owners(target: TargetRecord): Promise<EphemeralOwner[]> {
    const rows = await this.d.store.ephemeral.live({ targetId: target.id });
    return Promise.all(rows.map(async (row) => {
      const grant = await this.d.store.grants.byId(row.grantId);
      const user = grant ? (await this.d.store.users.byId(grant.userId))?.name ?? grant.userId : 'unknown';
      return { row, grant, user };
    }));
  }
}

/** What a provisioner reported, checked: names present and bounded, one row per account, privileges deduplicated. */
function sanitize(found: unknown): PrivilegedAccount[] {
  if (!Array.isArray(found)) throw new ProvisionError('protocol', 'the provisioner returned no account list');
  const byName = new Map<string, Set<string>>();
  const selves = new Set<string>();
  for (const a of found as unknown[]) {
    if (typeof a !== 'object' || a === null) continue;
    const { account, privileges, self } = a as { account?: unknown; privileges?: unknown; self?: unknown };
    if (typeof account !== 'string' || account.length === 0 || account.length > MAX_NAME) continue;
    const privs = byName.get(account) ?? new Set<string>();
    if (Array.isArray(privileges)) {
      for (const p of privileges as unknown[]) if (typeof p === 'string' && p.length > 0 && p.length <= MAX_NAME && privs.size < MAX_PRIVILEGES) privs.add(p);
    }
    byName.set(account, privs);
    if (self === true) selves.add(account);
    if (byName.size > MAX_ACCOUNTS) throw new ProvisionError('protocol', `the target reported more than ${MAX_ACCOUNTS} privileged accounts; refusing to store them`);
  }
  return [...byName].map(([account, privs]) => ({ account, privileges: [...privs].sort(), ...(selves.has(account) ? { self: true } : {}) }));
}

/** A failure as an admin reads it: which target, what went wrong, never a secret (provisioner errors carry none). */
function discoveryError(target: TargetRecord, err: unknown): PortcullisError {
  if (err instanceof PortcullisError) return err;
  if (err instanceof ProvisionError) {
    switch (err.kind) {
      case 'missing-right':
      case 'no-such-level-grant':
        return new PortcullisError('conflict', `discovery on ${target.name}: the vaulted account ${target.account} lacks a right: ${err.message}`);
      case 'unreachable':
        return new PortcullisError('unavailable', `discovery on ${target.name}: cannot reach ${target.host}:${target.port}: ${err.message}`);
      case 'refused':
      case 'protocol':
        return new PortcullisError('unavailable', `discovery on ${target.name} failed: ${err.message}`);
    }
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return new PortcullisError('unavailable', `discovery on ${target.name}: cannot reach ${target.host}:${target.port} (${code})`);
  }
  return new PortcullisError('unavailable', `discovery on ${target.name} failed: ${err instanceof Error ? err.message : String(err)}`);
}
