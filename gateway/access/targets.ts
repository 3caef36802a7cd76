// Targets: where sessions go, with the vaulted credential used for the upstream leg.
import { type DbTlsMode, isTargetKind, TARGET_KINDS, type TargetKind, type TargetRecord } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';
import { newId } from '../util/ids.js';
import type { CredentialVault } from '../vault/credential-vault.js';
import type { AccessContext } from './context.js';
import { checkName } from './names.js';
import { activeGrants, publishRevoked, revokeInTx } from './revocation.js';

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
  /** Database targets: allow logins that would expose the password to an impostor (audited per session). */
  allowWeakUpstreamAuth?: boolean;
  /** MySQL targets: the pinned server RSA key, "sha256:<64 hex>" (see mysql/wire/rsa-key.ts). */
  rsaKeyFingerprint?: string;
  tags?: string[];
}

const RSA_FINGERPRINT_RE = /^sha256:[0-9a-f]{64}$/;

const DEFAULT_PORT: Record<TargetKind, number> = { ssh: 22, postgres: 5432, mysql: 3306 };

export class TargetService {
  constructor(private readonly ctx: AccessContext, private readonly creds: CredentialVault) {}

  async add(actor: string, t: NewTarget): Promise<TargetRecord> {
    checkName('target', t.name);
    if (!isTargetKind(t.kind)) throw new PortcullisError('bad-request', `target kind must be one of ${TARGET_KINDS.join(', ')}`);
    if (!t.host || /[\s/]/.test(t.host)) throw new PortcullisError('bad-request', 'target host is required (a name or an address)');
    const port = t.port ?? DEFAULT_PORT[t.kind];
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new PortcullisError('bad-request', 'port must be 1-65535');
    if (!t.account) throw new PortcullisError('bad-request', 'the upstream account (--account) is required');
    if ((t.password === undefined) === (t.privateKey === undefined)) {
      throw new PortcullisError('bad-request', 'give exactly one credential: --password-stdin or --key-file');
    }
    if (t.privateKey !== undefined && t.kind !== 'ssh') throw new PortcullisError('bad-request', 'private keys are for ssh targets');
    if (t.hostKey !== undefined && !/^SHA256:[A-Za-z0-9+/]{43}$/.test(t.hostKey)) {
      throw new PortcullisError('bad-request', 'host key must be an OpenSSH fingerprint "SHA256:<43 base64 chars>" (ssh-keyscan | ssh-keygen -lf -)');
    }
    if (t.kind === 'ssh' && t.hostKey === undefined) {
      throw new PortcullisError('bad-request', 'ssh targets need a pinned host key: --host-key SHA256:... (ssh-keyscan HOST | ssh-keygen -lf -)');
    }
    if (t.allowWeakUpstreamAuth && t.kind === 'ssh') throw new PortcullisError('bad-request', '--allow-weak-upstream-auth is for database targets');
    if (t.rsaKeyFingerprint !== undefined) {
      if (t.kind !== 'mysql') throw new PortcullisError('bad-request', 'a pinned RSA key (--mysql-rsa-key / --mysql-rsa-fingerprint) is for mysql targets');
      if (!RSA_FINGERPRINT_RE.test(t.rsaKeyFingerprint)) throw new PortcullisError('bad-request', 'RSA key fingerprint must be "sha256:" and 64 lowercase hex digits (or give the key: --mysql-rsa-key FILE)');
    }
    if (await this.ctx.store.targets.byName(t.name)) throw new PortcullisError('conflict', `target "${t.name}" already exists`);
    const id = newId('tgt');
    const secret = t.password ?? t.privateKey!;
    const tags = (t.tags ?? []).map((x) => checkName('tag', x));
    return this.ctx.store.transaction(async () => {
      // Sealed inside the transaction: a master key rotation runs wholly before or after it.
      const rec: TargetRecord = {
        id, name: t.name, kind: t.kind, host: t.host, port, account: t.account,
        credentialKind: t.password !== undefined ? 'password' : 'private-key',
        credentialSealed: this.creds.sealFor(id, secret), hostKey: t.hostKey ?? null, database: t.database ?? null,
        tlsMode: t.tls ?? 'disable', tlsCaPem: t.tlsCaPem ?? null,
        allowWeakUpstreamAuth: t.allowWeakUpstreamAuth ?? false, rsaKeyFingerprint: t.rsaKeyFingerprint ?? null, tags, createdAt: this.ctx.clock.now(),
      };
      await this.ctx.store.targets.insert(rec);
      await this.ctx.audit.append('target.created', actor, {
        target: rec.name, kind: rec.kind, host: rec.host, port: rec.port, allowWeakUpstreamAuth: rec.allowWeakUpstreamAuth,
        ...(rec.rsaKeyFingerprint ? { rsaKeyFingerprint: rec.rsaKeyFingerprint } : {}),
      });
      return rec;
    });
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
   * no old grant reaches it.
   */
  async remove(actor: string, name: string): Promise<void> {
    const t = await this.get(name);
    const revoked = await this.ctx.store.transaction(async () => {
      await this.ctx.store.targets.remove(t.id);
      await this.ctx.audit.append('target.removed', actor, { target: name });
      return revokeInTx(this.ctx, actor, await activeGrants(this.ctx.store, this.ctx.clock.now(), { targetId: t.id }), `target ${name} removed`, 'target-removed');
    });
    await publishRevoked(this.ctx, actor, revoked);
  }
}
