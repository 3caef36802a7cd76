// What every stored target must satisfy, whether added or updated (targets.ts, target-update.ts).
// Checks shape only; whether the actor may change it, and what the change does, is decided there.
import { CREDENTIAL_MODES, isTargetKind, ROTATE_MODES, TARGET_KINDS, type TargetRecord } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';
import { checkLevels, isDbRoleName } from './levels.js';

/** What every stored target must satisfy, whether added or updated. */
export function checkTarget(t: TargetRecord): void {
  if (!isTargetKind(t.kind)) throw new PortcullisError('bad-request', `target kind must be one of ${TARGET_KINDS.join(', ')}`);
  if (!t.host || /[\s/]/.test(t.host)) throw new PortcullisError('bad-request', 'target host is required (a name or an address)');
  if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) throw new PortcullisError('bad-request', 'port must be 1-65535');
  if (!t.account) throw new PortcullisError('bad-request', 'the upstream account (--account) is required');
  if (t.credentialKind === 'private-key' && t.kind !== 'ssh') throw new PortcullisError('bad-request', 'private keys are for ssh targets');
  if (t.hostKey !== null && !/^SHA256:[A-Za-z0-9+/]{43}$/.test(t.hostKey)) {
    throw new PortcullisError('bad-request', 'host key must be an OpenSSH fingerprint "SHA256:<43 base64 chars>" (ssh-keyscan | ssh-keygen -lf -)');
  }
  if (t.kind === 'ssh' && t.hostKey === null) {
    throw new PortcullisError('bad-request', 'ssh targets need a pinned host key: --host-key SHA256:... (ssh-keyscan HOST | ssh-keygen -lf -)');
  }
  if (t.allowWeakUpstreamAuth && t.kind === 'ssh') throw new PortcullisError('bad-request', '--allow-weak-upstream-auth is for database targets');
  if (t.rsaKeyFingerprint !== null) {
    if (t.kind !== 'mysql') throw new PortcullisError('bad-request', 'a pinned RSA key (--mysql-rsa-key / --mysql-rsa-fingerprint) is for mysql targets');
    if (!RSA_FINGERPRINT_RE.test(t.rsaKeyFingerprint)) throw new PortcullisError('bad-request', 'RSA key fingerprint must be "sha256:" and 64 lowercase hex digits (or give the key: --mysql-rsa-key FILE)');
  }
  checkZspFields(t);
}

/** Credential mode, levels, rotation and the ephemeral settings (issue 15), and how they fit together. */
function checkZspFields(t: TargetRecord): void {
  if (!CREDENTIAL_MODES.includes(t.credentialMode)) throw new PortcullisError('bad-request', `--credential must be one of ${CREDENTIAL_MODES.join(', ')}`);
  if (!ROTATE_MODES.includes(t.rotate)) throw new PortcullisError('bad-request', `--rotate must be one of ${ROTATE_MODES.join(', ')}`);
  checkLevels(t.kind, t.levels);
  const ephemeral = t.credentialMode === 'ephemeral';
  const granting = t.levels.find((l) => l.grants.length > 0);
  if (granting && !ephemeral) {
    // A static target's sessions all log in as the one vaulted account: a level cannot add roles to it.
    throw new PortcullisError('bad-request', `level "${granting.name}" grants ${t.kind === 'ssh' ? 'groups' : 'roles'}, which only an ephemeral account can get: ` +
      `${t.name} uses a static credential (every session logs in as ${t.account}); add --credential ephemeral, or give its levels no grants (--level ${granting.name}=)`);
  }
  if (t.rotate !== 'off' && ephemeral) {
    throw new PortcullisError('bad-request', '--rotate is for static credentials; an ephemeral target\'s accounts are dropped after each grant (use --rotate off)');
  }
  if (t.ephemeralReassignTo !== null) {
    if (t.kind !== 'postgres' || !ephemeral) throw new PortcullisError('bad-request', '--ephemeral-reassign-to is for postgres targets with --credential ephemeral');
    if (!isDbRoleName(t.ephemeralReassignTo)) {
      throw new PortcullisError('bad-request', `--ephemeral-reassign-to "${t.ephemeralReassignTo.slice(0, 80)}" is not a valid role name (letters, digits, "_", "-", ".", "$")`);
    }
  }
  if (t.ephemeralKeepHome && (t.kind !== 'ssh' || !ephemeral)) throw new PortcullisError('bad-request', '--keep-home is for ssh targets with --credential ephemeral');
}

const RSA_FINGERPRINT_RE = /^sha256:[0-9a-f]{64}$/;
