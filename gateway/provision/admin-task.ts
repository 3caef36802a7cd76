// One administrative task on a target: open the target's vaulted (provisioner) credential, bound to
// the target as it stands, log in through the kind's AdminLogin, run the task, close the session —
// whatever happens. Bounded in time, so a target that hangs fails the task instead of holding a
// user's login or the reconciler forever. Knows nothing about what the task does; error text that
// leaves here is for admins and clients (provisioner.ts: never a secret), cut to a readable length.
import type { TargetKind, TargetRecord } from '../store/records.js';
import type { Clock } from '../util/clock.js';
import { PortcullisError } from '../util/errors.js';
import type { CredentialVault } from '../vault/credential-vault.js';
import { type AdminLogin, type AdminSession, ProvisionError } from './provisioner.js';

export type AdminLogins = Partial<Record<TargetKind, AdminLogin>>;

/** Login plus one task; a PostgreSQL/MySQL/SSH round trip or three, far below this on a healthy target. */
export const ADMIN_TASK_TIMEOUT_MS = 30_000;

export interface AdminTaskDeps {
  logins: AdminLogins;
  creds: CredentialVault;
  clock: Clock;
  timeoutMs?: number;
}

export function canProvision(logins: AdminLogins, kind: TargetKind): boolean {
  return logins[kind] !== undefined;
}

export async function withAdmin<T>(d: AdminTaskDeps, target: TargetRecord, task: (s: AdminSession) => Promise<T>): Promise<T> {
  const login = d.logins[target.kind];
  if (!login) throw new ProvisionError('refused', `Portcullis cannot provision ${target.kind} targets`);
  // Throws CredentialUnbound before anything goes to the network when the target was re-pointed.
  const cred = d.creds.checkoutForCheck(target);
  const timeoutMs = d.timeoutMs ?? ADMIN_TASK_TIMEOUT_MS;
  let session: AdminSession | null = null;
  let over = false;
  const close = (s: AdminSession): void => { void s.close().catch(() => undefined); };
  const work = (async () => {
    const s = await login(target, cred);
    // Logged in after we gave up: nobody will use it.
    if (over) { close(s); throw new ProvisionError('unreachable', 'timed out'); }
    session = s;
    try {
      return await task(s);
    } finally {
      session = null;
      await s.close().catch(() => undefined);
    }
  })();
  try {
    return await new Promise<T>((resolve, reject) => {
      const cancel = d.clock.schedule(d.clock.now() + timeoutMs, () => {
        over = true;
        if (session) close(session);
        reject(new ProvisionError('unreachable', `${target.name} did not answer within ${Math.round(timeoutMs / 1000)}s`));
      });
      work.then((v) => { cancel(); resolve(v); }, (e: unknown) => { cancel(); reject(e instanceof Error ? e : new Error(String(e))); });
    });
  } finally {
    over = true;
    // The login wipes it too; wiping twice is harmless and covers a login that never ran.
    cred.wipe();
  }
}

/** What went wrong, in words for an admin or a client: provisioner and Portcullis errors say it themselves. */
export function adminErrorText(err: unknown): string {
  const text = err instanceof ProvisionError || err instanceof PortcullisError ? err.message
    : err instanceof Error ? err.message : 'unknown error';
  const oneLine = text.replace(/\s+/g, ' ').trim() || 'unknown error';
  return oneLine.length > 300 ? oneLine.slice(0, 297) + '...' : oneLine;
}
