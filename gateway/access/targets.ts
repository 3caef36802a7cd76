// Targets: where sessions go, with the vaulted credential used for the upstream leg. Database
// targets verify the upstream's TLS certificate by default (verify-full, or a pinned fingerprint):
// settings that could not tell the genuine server from an impostor are refused here unless the
// target opts in by name. The handshake itself is net/upstream-tls.ts's.
import { X509Certificate } from 'node:crypto';
import { parseFingerprint, settingsProblem } from '../net/tls-verdict.js';
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
  /** "sha256:<hex>" of the leaf certificate's DER (colons and upper case accepted). */
  tlsFingerprint?: string;
  /** Accept upstream logins that do not protect the credential (e.g. tls require without CA or pin). */
  allowWeakUpstreamAuth?: boolean;
  tags?: string[];
}

/** The TLS fields of a new target, checked: database targets default to verify-full. */
function tlsFields(t: NewTarget): Pick<TargetRecord, 'tlsMode' | 'tlsCaPem' | 'tlsFingerprint'> {
  if (t.kind === 'ssh') {
    if (t.tls !== undefined || t.tlsCaPem !== undefined || t.tlsFingerprint !== undefined) {
      throw new PortcullisError('bad-request', 'TLS settings are for database targets; ssh targets pin a host key (--host-key)');
    }
    return { tlsMode: 'disable', tlsCaPem: null, tlsFingerprint: null };
  }
  const tlsMode = t.tls ?? 'verify-full';
  let tlsFingerprint: string | null = null;
  if (t.tlsFingerprint !== undefined) {
    tlsFingerprint = parseFingerprint(t.tlsFingerprint);
    if (!tlsFingerprint) throw new PortcullisError('bad-request', 'tls fingerprint must be "sha256:" and 64 hex digits (portcullis target fetch-cert shows it)');
  }
  const tlsCaPem = t.tlsCaPem ?? null;
  if (tlsCaPem !== null) checkCaPem(tlsCaPem);
  if (tlsMode === 'disable' && (tlsCaPem !== null || tlsFingerprint !== null)) {
    throw new PortcullisError('bad-request', 'a TLS CA or fingerprint was given with tls disable; drop one or the other');
  }
  return { tlsMode, tlsCaPem, tlsFingerprint };
}

function checkCaPem(pem: string): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0 || pem.length > 1024 * 1024) throw new PortcullisError('bad-request', 'the TLS CA must be PEM certificates (-----BEGIN CERTIFICATE-----)');
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch {
      throw new PortcullisError('bad-request', 'the TLS CA file holds a certificate that does not parse');
    }
  }
}

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
    const tls = tlsFields(t);
    const allowWeakUpstreamAuth = t.allowWeakUpstreamAuth ?? false;
    const weak = settingsProblem({ target: t.name, mode: tls.tlsMode === 'disable' ? 'verify-full' : tls.tlsMode, caPem: tls.tlsCaPem, fingerprint: tls.tlsFingerprint, allowUnverified: allowWeakUpstreamAuth });
    if (weak) {
      throw new PortcullisError('bad-request', 'tls require without --tls-ca or --tls-fingerprint encrypts but cannot tell the genuine server from an ' +
        'impostor: pin its certificate (--tls-fingerprint, see portcullis target fetch-cert), give its CA (--tls-ca FILE), or opt in with --allow-weak-upstream-auth');
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
        ...tls, allowWeakUpstreamAuth, tags, createdAt: this.ctx.clock.now(),
      };
      await this.ctx.store.targets.insert(rec);
      await this.ctx.audit.append('target.created', actor, {
        target: rec.name, kind: rec.kind, host: rec.host, port: rec.port,
        ...(rec.kind === 'ssh' ? {} : { tls: rec.tlsMode, tls_ca: rec.tlsCaPem !== null, tls_fingerprint: rec.tlsFingerprint }),
        allow_weak_upstream_auth: rec.allowWeakUpstreamAuth,
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
