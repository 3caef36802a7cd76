// `target update`: changes a target in place (same id, name and grants). The rule that makes the
// vault's binding hold through the front door: a change to where the credential goes (any bound
// field, vault/target-binding.ts) is refused unless the credential is given again, and is then
// sealed for the new settings. Tags and database change without it. Nothing is revoked for a
// re-point (grants stand on the target, not its address), but live sessions to it end with
// `target-changed` (published after commit; accessLoss says the same from the store); a tag change
// that takes the target out of a policy revokes the grants standing on it (`policy-narrowed`), as
// narrowing the policy would. Audited `target.updated` with each changed field's old and new value,
// never the credential.
import { createHash } from 'node:crypto';
import type { AccessLevel, CredentialMode, DbTlsMode, GrantRecord, RotateMode, TargetKind, TargetRecord } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';
import type { CredentialVault } from '../vault/credential-vault.js';
import { boundChanges, repointedFields } from '../vault/target-binding.js';
import type { AccessContext } from './context.js';
import { formatLevels } from './levels.js';
import { checkName } from './names.js';
import { policyNarrowing } from './policy-match.js';
import { activeGrants, publishRevoked, revokeInTx } from './revocation.js';
import { checkTarget } from './target-shape.js';
import { checkedTls, refuseUnverifiableTls } from './target-tls.js';

export interface TargetChange {
  kind?: TargetKind;
  host?: string;
  port?: number;
  account?: string;
  hostKey?: string;
  /** null clears it. */
  database?: string | null;
  tls?: DbTlsMode;
  /** null clears it. */
  tlsCaPem?: string | null;
  /** null clears it. */
  tlsFingerprint?: string | null;
  allowWeakUpstreamAuth?: boolean;
  /** null clears it. */
  rsaKeyFingerprint?: string | null;
  /** Replaces the whole list. */
  tags?: string[];
  /** Issue 15. Changing the mode, the levels or reassign-to changes what the credential may do: it must be given again. */
  credentialMode?: CredentialMode;
  /** Replaces the whole list (least privileged first). Grants at a level no longer listed are revoked. */
  levels?: AccessLevel[];
  rotate?: RotateMode;
  /** null clears it. */
  ephemeralReassignTo?: string | null;
  ephemeralKeepHome?: boolean;
  password?: string;
  privateKey?: string;
}

export interface TargetUpdate {
  target: TargetRecord;
  /** Changed fields by their record names (credential not included). */
  changed: string[];
  credential: 'replaced' | 'kept';
  /** The change sends the credential somewhere else: live sessions end `target-changed`. */
  repointed: boolean;
  grantsRevoked: number;
}

type Shown = string | number | null;

/** The fields an update may change, and how each is shown in the audit entry (the CA by its SHA-256). */
const SHOWN: ReadonlyArray<[keyof TargetRecord, (t: TargetRecord) => Shown]> = [
  ['kind', (t) => t.kind], ['host', (t) => t.host], ['port', (t) => t.port], ['account', (t) => t.account],
  ['hostKey', (t) => t.hostKey], ['database', (t) => t.database], ['tlsMode', (t) => t.tlsMode],
  ['tlsCaPem', (t) => (t.tlsCaPem === null ? null : `sha256:${createHash('sha256').update(t.tlsCaPem).digest('hex')}`)], ['tags', (t) => t.tags.join(',')],
  ['tlsFingerprint', (t) => t.tlsFingerprint], ['allowWeakUpstreamAuth', (t) => (t.allowWeakUpstreamAuth ? 'allowed' : 'refused')], ['rsaKeyFingerprint', (t) => t.rsaKeyFingerprint],
  ['credentialMode', (t) => t.credentialMode], ['levels', (t) => formatLevels(t.levels)], ['rotate', (t) => t.rotate],
  ['ephemeralReassignTo', (t) => t.ephemeralReassignTo], ['ephemeralKeepHome', (t) => (t.ephemeralKeepHome ? 'keep' : 'remove')],
];

/** Bound fields that say what the credential may do rather than where it goes, by the flag that changes them. */
const USE_FIELDS: Readonly<Record<string, string>> = { credential_mode: '--credential', levels_sha256: '--level', ephemeral_reassign_to: '--ephemeral-reassign-to' };

export async function updateTarget(ctx: AccessContext, creds: CredentialVault, actor: string, name: string, ch: TargetChange): Promise<TargetUpdate> {
  if (ch.password !== undefined && ch.privateKey !== undefined) throw new PortcullisError('bad-request', 'give at most one credential: --password-stdin or --key-file');
  const secret = ch.password ?? ch.privateKey;
  const tags = ch.tags?.map((x) => checkName('tag', x));
  const out = await ctx.store.transaction(async () => {
    const cur = await ctx.store.targets.byName(name);
    if (!cur) throw new PortcullisError('not-found', `no target "${name}"; see "portcullis target list"`);
    const next: TargetRecord = {
      ...cur,
      kind: ch.kind ?? cur.kind, host: ch.host ?? cur.host, port: ch.port ?? cur.port, account: ch.account ?? cur.account,
      hostKey: ch.hostKey ?? cur.hostKey, database: ch.database === undefined ? cur.database : ch.database || null,
      tlsMode: ch.tls ?? cur.tlsMode, tlsCaPem: ch.tlsCaPem === undefined ? cur.tlsCaPem : ch.tlsCaPem || null, tags: tags ?? cur.tags,
      allowWeakUpstreamAuth: ch.allowWeakUpstreamAuth ?? cur.allowWeakUpstreamAuth,
      rsaKeyFingerprint: ch.rsaKeyFingerprint === undefined ? cur.rsaKeyFingerprint : ch.rsaKeyFingerprint || null,
      credentialKind: ch.password !== undefined ? 'password' : ch.privateKey !== undefined ? 'private-key' : cur.credentialKind,
      credentialMode: ch.credentialMode ?? cur.credentialMode, levels: ch.levels?.length ? ch.levels : cur.levels, rotate: ch.rotate ?? cur.rotate,
      ephemeralReassignTo: ch.ephemeralReassignTo === undefined ? cur.ephemeralReassignTo : ch.ephemeralReassignTo || null,
      ephemeralKeepHome: ch.ephemeralKeepHome ?? cur.ephemeralKeepHome,
    };
    const tlsChanged = ch.tls !== undefined || ch.tlsCaPem !== undefined || ch.tlsFingerprint !== undefined;
    if (tlsChanged && next.kind !== 'ssh') Object.assign(next, checkedTls(next.tlsMode, next.tlsCaPem, ch.tlsFingerprint === undefined ? cur.tlsFingerprint : ch.tlsFingerprint || null));
    checkTarget(next);
    // A change that leaves TLS unable to tell the genuine server is refused as at add; a target
    // left as it was (an older `require` one getting new tags) is not held to it here.
    if (next.tlsMode !== cur.tlsMode || next.tlsCaPem !== cur.tlsCaPem || next.tlsFingerprint !== cur.tlsFingerprint
      || next.allowWeakUpstreamAuth !== cur.allowWeakUpstreamAuth || next.kind !== cur.kind) refuseUnverifiableTls(next);
    const changed = SHOWN.filter(([, show]) => show(cur) !== show(next)).map(([field]) => field);
    if (changed.length === 0 && secret === undefined) throw new PortcullisError('bad-request', `nothing to change on ${name}`);
    const rebound = boundChanges(cur, next);
    const uses = rebound.filter((f) => f in USE_FIELDS);
    if (rebound.length > 0 && rebound.length === uses.length && secret === undefined) {
      // Levels and mode say which accounts the credential creates and with which roles: a change
      // must come with the credential, so a write to the store alone can never widen privilege.
      throw new PortcullisError('bad-request', `changing ${uses.map((f) => USE_FIELDS[f]).join(', ')} of ${name} changes what its credential may do on the target, ` +
        `so it must be entered again: portcullis target update ${name} ... ${next.credentialKind === 'private-key' ? '--key-file FILE' : '--password-stdin'} ` +
        '(the stored one stays bound to the current mode and levels)');
    }
    if (rebound.length > 0 && secret === undefined) {
      throw new PortcullisError('bad-request', `changing ${rebound.join(', ')} of ${name} changes where its credential is sent, so it must be entered ` +
        `again: portcullis target update ${name} ... ${next.credentialKind === 'private-key' ? '--key-file FILE' : '--password-stdin'} ` +
        '(the stored one stays bound to the current settings)');
    }
    await refuseWhileEphemeralLive(ctx, cur, next, rebound);
    if (tlsChanged && next.kind === 'ssh') throw new PortcullisError('bad-request', 'TLS settings are for database targets; ssh targets pin a host key (--host-key)');
    // Sealed inside the transaction (a key rotation runs wholly before or after), for the new record.
    // A credential entered again ends any rotation left pending (one that could not be settled):
    // the admin's value is the truth now.
    const rec: TargetRecord = {
      ...next, credentialSealed: secret === undefined ? cur.credentialSealed : creds.sealFor(next, secret),
      pendingCredentialSealed: secret === undefined ? cur.pendingCredentialSealed : null,
    };
    await ctx.store.targets.update(rec);
    const show = (t: TargetRecord): Record<string, Shown> => Object.fromEntries(SHOWN.filter(([f]) => changed.includes(f)).map(([f, v]) => [f, v(t)]));
    const credential = secret === undefined ? 'kept' as const : 'replaced' as const;
    await ctx.audit.append('target.updated', actor, { target: name, changed, credential, from: show(cur), to: show(rec) });
    const revoked = changed.includes('tags') ? await revokeUncovered(ctx, actor, rec) : [];
    if (changed.includes('levels')) revoked.push(...await revokeAtRemovedLevels(ctx, actor, rec));
    return { rec, changed, credential, revoked, repointed: repointedFields(cur, rec) };
  });
  await publishRevoked(ctx, actor, out.revoked);
  if (out.repointed.length > 0) ctx.events.emit('target.changed', { target: name, by: actor, fields: out.repointed });
  return { target: out.rec, changed: out.changed, credential: out.credential, repointed: out.repointed.length > 0, grantsRevoked: out.revoked.length };
}

/** Grants at a level the target no longer has give nothing any more: revoked, their sessions end. */
async function revokeAtRemovedLevels(ctx: AccessContext, actor: string, t: TargetRecord): Promise<Awaited<ReturnType<typeof revokeInTx>>> {
  const gone = (await activeGrants(ctx.store, ctx.clock.now(), { targetId: t.id })).filter((g) => !t.levels.some((l) => l.name === g.level));
  const names = [...new Set(gone.map((g) => g.level))].join(', ');
  return revokeInTx(ctx, actor, gone, `level ${names} removed from ${t.name}`, 'revoked');
}

/** Grants on the target whose policy no longer matches it (by tag) are revoked, as narrowing the policy would. */
async function revokeUncovered(ctx: AccessContext, actor: string, t: TargetRecord): Promise<Awaited<ReturnType<typeof revokeInTx>>> {
  const now = ctx.clock.now();
  const lost: GrantRecord[] = [];
  let why = '';
  for (const g of await activeGrants(ctx.store, now, { targetId: t.id })) {
    if (g.policyId === null) continue;
    const p = await ctx.store.policies.byId(g.policyId);
    const n = p ? policyNarrowing(p, g, await ctx.store.users.byId(g.userId) ?? null, t, now) : null;
    if (n?.kind !== 'uncovered') continue;
    lost.push(g);
    why ||= n.why;
  }
  return revokeInTx(ctx, actor, lost, why || `target ${t.name} changed`, 'policy-narrowed');
}

/**
 * An ephemeral target's accounts are dropped by logging in as its provisioner: while any is live,
 * its credential mode and where the provisioner logs in (kind, host, port, account, TLS, host key)
 * stay as they are. Changing them would leave accounts the reconciler can no longer reach; dropping
 * them here instead would end sessions of grants that still hold, as a side effect of an edit.
 */
async function refuseWhileEphemeralLive(ctx: AccessContext, cur: TargetRecord, next: TargetRecord, rebound: readonly string[]): Promise<void> {
  if (cur.credentialMode !== 'ephemeral' || (next.credentialMode === cur.credentialMode && rebound.length === 0)) return;
  const live = await ctx.store.ephemeral.live({ targetId: cur.id });
  if (live.length === 0) return;
  const what = next.credentialMode !== cur.credentialMode ? 'its credential mode' : rebound.join(', ');
  throw new PortcullisError('conflict', `cannot change ${what} of ${cur.name} while it has live ephemeral accounts (${live.map((a) => a.account).join(', ')}): ` +
    'they are dropped through its provisioner as it stands. Revoke their grants (portcullis grant revoke ID) or wait for them to end, ' +
    `check with "portcullis ephemeral list --target ${cur.name}", then change it`);
}
