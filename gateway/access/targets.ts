// Targets: where sessions go, with the vaulted credential used for the upstream leg. The credential
// is sealed bound to the target's address, account and TLS settings (vault/target-binding.ts).
import { type AccessLevel, type CredentialMode, type DbTlsMode, isTargetKind, type RotateMode, TARGET_KINDS, type TargetKind, type TargetRecord } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';
import { newId } from '../util/ids.js';
import type { CredentialVault } from '../vault/credential-vault.js';
import type { AccessContext } from './context.js';
import { defaultLevels, formatLevels } from './levels.js';
import { checkName } from './names.js';
import { activeGrants, publishRevoked, revokeInTx } from './revocation.js';
import { checkTarget } from './target-shape.js';
import { refuseUnverifiableTls, tlsFields } from './target-tls.js';
import { type TargetChange, type TargetUpdate, updateTarget } from './target-update.js';

export type { TargetChange, TargetUpdate };

export interface NewTarget {
  name: string;
  kind: TargetKind;
  host: string;
  port?: number;
  account: string;
  password?: string;
  privateKey?: string;
  hostKey?: string;
  database?: string;
  tls?: DbTlsMode;
  tlsCaPem?: string;
  /** "sha256:<hex>" of the leaf certificate's DER (colons and upper case accepted). */
  tlsFingerprint?: string;
  /** Database targets: allow logins that would expose the password to an impostor (audited per session). */
  allowWeakUpstreamAuth?: boolean;
  /** MySQL targets: the pinned server RSA key, "sha256:<64 hex>" (see mysql/wire/rsa-key.ts). */
  rsaKeyFingerprint?: string;
  tags?: string[];
  /** static (default): sessions log in as the vaulted account; ephemeral: it is a provisioner's, each grant gets its own account. */
  credentialMode?: CredentialMode;
  /** Least privileged first; default: one level "default" with no grants. */
  levels?: AccessLevel[];
  /** Static credentials only; default off. */
  rotate?: RotateMode;
  /** Postgres ephemeral: who inherits objects a dropped account owns (default: dropped with it). */
  ephemeralReassignTo?: string | null;
  /** SSH ephemeral: keep the home directory of a removed user. */
  ephemeralKeepHome?: boolean;
}

const DEFAULT_PORT: Record<TargetKind, number> = { ssh: 22, postgres: 5432, mysql: 3306 };

/**
 * Work that must succeed before a target goes (its ephemeral accounts are dropped:
 * provision/target-removal.ts); throwing refuses the removal. `force`: remove it anyway.
 */
export type TargetRemovalHook = (actor: string, target: TargetRecord, force: boolean) => Promise<void>;

export class TargetService {
  private readonly removalHooks: TargetRemovalHook[] = [];

  constructor(private readonly ctx: AccessContext, private readonly creds: CredentialVault) {}

  onRemove(hook: TargetRemovalHook): void {
    this.removalHooks.push(hook);
  }

  async add(actor: string, t: NewTarget): Promise<TargetRecord> {
    checkName('target', t.name);
    const kind = t.kind;
    if (!isTargetKind(kind)) throw new PortcullisError('bad-request', `target kind must be one of ${TARGET_KINDS.join(', ')}`);
    if ((t.password === undefined) === (t.privateKey === undefined)) {
      throw new PortcullisError('bad-request', 'give exactly one credential: --password-stdin or --key-file');
    }
    const id = newId('tgt');
    const secret = t.password ?? t.privateKey!;
    const tags = (t.tags ?? []).map((x) => checkName('tag', x));
    const draft: TargetRecord = {
      id, name: t.name, kind, host: t.host, port: t.port ?? DEFAULT_PORT[kind], account: t.account,
      credentialKind: t.password !== undefined ? 'password' : 'private-key', credentialSealed: '',
      hostKey: t.hostKey ?? null, database: t.database ?? null, ...tlsFields(t),
      allowWeakUpstreamAuth: t.allowWeakUpstreamAuth ?? false, rsaKeyFingerprint: t.rsaKeyFingerprint ?? null, tags,
      credentialMode: t.credentialMode ?? 'static', levels: t.levels?.length ? t.levels : defaultLevels(), rotate: t.rotate ?? 'off',
      ephemeralReassignTo: t.ephemeralReassignTo ?? null, ephemeralKeepHome: t.ephemeralKeepHome ?? false, pendingCredentialSealed: null, rotatedAt: null,
      createdAt: this.ctx.clock.now(),
    };
    checkTarget(draft);
    refuseUnverifiableTls(draft);
    if (await this.ctx.store.targets.byName(t.name)) throw new PortcullisError('conflict', `target "${t.name}" already exists`);
    return this.ctx.store.transaction(async () => {
      // Sealed inside the transaction: a master key rotation runs wholly before or after it. The
      // seal binds the credential to this record's address, account and TLS settings.
      const rec: TargetRecord = { ...draft, credentialSealed: this.creds.sealFor(draft, secret) };
      await this.ctx.store.targets.insert(rec);
      await this.ctx.audit.append('target.created', actor, {
        target: rec.name, kind: rec.kind, host: rec.host, port: rec.port, allowWeakUpstreamAuth: rec.allowWeakUpstreamAuth,
        ...(rec.rsaKeyFingerprint ? { rsaKeyFingerprint: rec.rsaKeyFingerprint } : {}),
        ...(rec.kind === 'ssh' ? {} : { tls: rec.tlsMode, tls_ca: rec.tlsCaPem !== null, tls_fingerprint: rec.tlsFingerprint }),
        credentialMode: rec.credentialMode, levels: formatLevels(rec.levels), rotate: rec.rotate,
      });
      return rec;
    });
  }

  /**
   * Changes a target in place (same id and name). Changing where its credential goes (host, port,
   * account, kind, host key, TLS settings) needs the credential again; see target-update.ts.
   */
  update(actor: string, name: string, change: TargetChange): Promise<TargetUpdate> {
    return updateTarget(this.ctx, this.creds, actor, name, change);
  }

  async get(name: string): Promise<TargetRecord> {
    const t = await this.ctx.store.targets.byName(name);
    if (!t) throw new PortcullisError('not-found', `no target "${name}"; see "portcullis target list"`);
    return t;
  }

  list(): Promise<TargetRecord[]> {
    return this.ctx.store.targets.list();
  }

  /**
   * Removing a target revokes every active grant on it in the same transaction; their live
   * sessions end with `target-removed`. A target added again under the same name is a new id, so
   * no old grant reaches it. Its ephemeral accounts are dropped first (the removal hooks); a
   * failure refuses the removal unless `force`.
   */
  async remove(actor: string, name: string, opts: { force?: boolean } = {}): Promise<void> {
    const t = await this.get(name);
    for (const hook of this.removalHooks) await hook(actor, t, opts.force ?? false);
    const revoked = await this.ctx.store.transaction(async () => {
      await this.ctx.store.targets.remove(t.id);
      // What discovery found there goes with it: a target added again under the name starts clean.
      await this.ctx.store.findings.removeForTarget(t.id);
      await this.ctx.audit.append('target.removed', actor, { target: name });
      return revokeInTx(this.ctx, actor, await activeGrants(this.ctx.store, this.ctx.clock.now(), { targetId: t.id }), `target ${name} removed`, 'target-removed');
    });
    await publishRevoked(this.ctx, actor, revoked);
  }
}
