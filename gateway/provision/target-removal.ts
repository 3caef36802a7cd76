// Removing a target with live ephemeral accounts: they are dropped first, awaited, while no new
// one may be created there. A drop that fails refuses the removal, naming the accounts and why (the
// reconciler keeps retrying them); `force` removes the target anyway and abandons those accounts,
// audited and alerted, since nothing could drop them once the target and its provisioner
// credential are gone.
import type { TargetRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { PortcullisError } from '../util/errors.js';
import type { EphemeralCredentials } from './ephemeral-credentials.js';
import type { EphemeralDropper } from './ephemeral-drop.js';

export interface RemovalDeps {
  store: Store;
  clock: Clock;
  credentials: EphemeralCredentials;
  dropper: EphemeralDropper;
  creating: ReadonlySet<string>;
}

/** How long removal waits for creations already running on the target to finish. */
const CREATION_WAIT_MS = 35_000;

export async function dropBeforeRemoval(d: RemovalDeps, actor: string, target: TargetRecord, force: boolean): Promise<void> {
  d.credentials.closeTarget(target.id);
  let removed = false;
  try {
    await waitForCreations(d, target.id);
    const rows = await d.store.ephemeral.live({ targetId: target.id });
    const outcomes = await Promise.all(rows.map((r) => d.dropper.drop(r.id, 'target-removed')));
    const failed = rows.filter((_, i) => outcomes[i] === 'failed');
    if (failed.length > 0) {
      const now = await Promise.all(failed.map(async (r) => (await d.store.ephemeral.byId(r.id)) ?? r));
      const why = now.map((r) => `${r.account} (${r.lastError ?? 'unknown error'})`).join(', ');
      if (!force) {
        throw new PortcullisError('conflict', `cannot remove ${target.name}: its ephemeral accounts could not be dropped: ${why}. ` +
          `Fix the target and try again (the reconciler keeps retrying), or remove it anyway with: portcullis target remove ${target.name} --force ` +
          '(the accounts then stay on the target and must be removed there by hand)');
      }
      for (const r of now) await d.dropper.abandon(r, target.name, actor, `target ${target.name} removed with --force: ${r.lastError ?? 'drop failed'}`);
    }
    removed = true;
  } finally {
    // Refused: sessions may create accounts there again. Removed: the id is gone for good.
    if (!removed) d.credentials.reopenTarget(target.id);
  }
}

async function waitForCreations(d: RemovalDeps, targetId: string): Promise<void> {
  const until = d.clock.now() + CREATION_WAIT_MS;
  while (d.credentials.creatingOn(targetId, await d.store.ephemeral.live({ targetId })) && d.clock.now() < until) {
    await new Promise<void>((r) => { d.clock.schedule(d.clock.now() + 100, r); });
  }
}
