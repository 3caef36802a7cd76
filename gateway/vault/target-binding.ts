// Where a target credential may be sent: the fields its AES-GCM associated data binds, in one list,
// and their canonical encoding. A credential sealed for one (id, kind, host, port, account, TLS
// settings, pinned host key) does not open for any other, so repointing a target by writing the
// database makes its credential undecryptable instead of sending it to the new address.
// Canonical encoding: a fixed tag, a newline, then JSON of [name, value] pairs in the list's order,
// leaving out fields whose value is null. JSON quotes every string, so no value can imitate a
// separator or another field. Changing the encoding changes every target's AAD, and every stored
// credential stops opening (test/unit/target-binding.test.ts pins it with a golden string). A new
// field whose value is null for every existing target (a new pin, an opt-in switch encoded as
// null when off) can be appended without that: existing AADs stay byte for byte the same. Anything
// else needs a new vault format and a migration.
// Does not seal or open anything (credential-vault.ts does), and decides nothing about sessions.
import { createHash } from 'node:crypto';
import { type AccessLevel, DEFAULT_LEVEL, type TargetRecord } from '../store/records.js';

type BoundValue = string | number | null;

/**
 * Every field a target credential is bound to. To bind a new field, append one line here whose
 * value is null where the field is unset or off (see the note above). `repoints` says whether changing the field
 * sends the credential somewhere else (ends live sessions with `target-changed`, and needs the
 * credential again through the CLI/API); the credential kind is bound but only says how it is used.
 */
const BOUND: ReadonlyArray<{ name: string; repoints: boolean; value: (t: TargetRecord) => BoundValue }> = [
  { name: 'id', repoints: true, value: (t) => t.id },
  { name: 'kind', repoints: true, value: (t) => t.kind },
  { name: 'host', repoints: true, value: (t) => t.host },
  { name: 'port', repoints: true, value: (t) => t.port },
  { name: 'account', repoints: true, value: (t) => t.account },
  { name: 'credential_kind', repoints: false, value: (t) => t.credentialKind },
  // The SSH host key pin is to SSH what the TLS CA or fingerprint is to databases: who may answer.
  { name: 'host_key', repoints: true, value: (t) => t.hostKey },
  { name: 'tls_mode', repoints: true, value: (t) => t.tlsMode },
  { name: 'tls_ca_sha256', repoints: true, value: (t) => (t.tlsCaPem === null ? null : sha256(t.tlsCaPem)) },
  // Whether an impostor may be answered with a weak method, and the MySQL key the password may be
  // encrypted to: a database edit of either could hand the password to whoever answers.
  { name: 'allow_weak_upstream_auth', repoints: true, value: (t) => (t.allowWeakUpstreamAuth ? 'allowed' : null) },
  { name: 'rsa_key_fingerprint', repoints: true, value: (t) => t.rsaKeyFingerprint },
  { name: 'tls_fingerprint', repoints: true, value: (t) => t.tlsFingerprint },
  // Issue 15: what the vaulted credential is used for. Ephemeral mode turns it into a provisioner
  // that creates accounts; the levels say which roles or groups those accounts get; reassign-to
  // says who inherits their objects. A database edit of any of them would widen privilege or
  // repurpose the credential, so each is bound (null for every target older than these fields).
  { name: 'credential_mode', repoints: true, value: (t) => (t.credentialMode === 'static' ? null : t.credentialMode) },
  { name: 'levels_sha256', repoints: true, value: (t) => (isImplicitDefault(t.levels) ? null : sha256(canonicalLevels(t.levels))) },
  { name: 'ephemeral_reassign_to', repoints: true, value: (t) => t.ephemeralReassignTo },
];

/** The levels every target had before levels existed: one "default" that grants nothing. */
function isImplicitDefault(levels: readonly AccessLevel[]): boolean {
  return levels.length === 1 && levels[0]!.name === DEFAULT_LEVEL && levels[0]!.grants.length === 0;
}

/** Canonical JSON of the levels: order kept (it is the privilege order), keys in a fixed order. */
export function canonicalLevels(levels: readonly AccessLevel[]): string {
  return JSON.stringify(levels.map((l) => ({ name: l.name, grants: [...l.grants] })));
}

/** The names of the bound fields, in binding order. */
export const BOUND_FIELDS: readonly string[] = BOUND.map((f) => f.name);

const TAG = 'portcullis target credential binding';

/** The canonical AAD of a target credential (sealed in vault format v2). */
export function targetBindingAad(t: TargetRecord): string {
  const pairs = BOUND.map((f) => [f.name, f.value(t)] as const).filter(([, v]) => v !== null);
  return `${TAG}\n${JSON.stringify(pairs)}`;
}

/** Bound fields whose values differ between two versions of a target (the credential would not open). */
export function boundChanges(before: TargetRecord, after: TargetRecord): string[] {
  return BOUND.filter((f) => f.value(before) !== f.value(after)).map((f) => f.name);
}

/** Bound fields that send the credential somewhere else when they change (not the credential kind). */
export function repointedFields(before: TargetRecord, after: TargetRecord): string[] {
  return BOUND.filter((f) => f.repoints && f.value(before) !== f.value(after)).map((f) => f.name);
}

/** The bound values, for audit entries and messages (the CA as its hash; never a secret). */
export function boundValues(t: TargetRecord): Record<string, BoundValue> {
  return Object.fromEntries(BOUND.map((f) => [f.name, f.value(t)]));
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
