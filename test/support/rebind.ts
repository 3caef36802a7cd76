// Tests that change a bound field of a target (credential mode, levels, ...) straight in the store:
// the credential is sealed to the target's binding, so it must be opened under the old record and
// sealed again under the new one, as `target update` with the credential does.
import type { App } from '../../gateway/app.js';
import type { TargetRecord } from '../../gateway/store/records.js';

export async function rebind(app: App, changed: TargetRecord): Promise<TargetRecord> {
  const before = await app.store.targets.byId(changed.id);
  if (!before) throw new Error(`no target ${changed.id}`);
  const c = app.creds.checkoutForCheck(before);
  try {
    const rec = { ...changed, credentialSealed: app.creds.sealFor(changed, c.secret) };
    await app.store.targets.update(rec);
    return rec;
  } finally {
    c.wipe();
  }
}
