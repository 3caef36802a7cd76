// Targets and policies.
import { autoApproveFrom } from '../../access/policies.js';
import { parseWindow } from '../../access/windows.js';
import { audienceOf, visibleTargets } from '../../access/target-visibility.js';
import { certificateView, policyView, targetSummaryView, targetView } from '../../access/views.js';
import type { EphemeralAccountView, TargetSummaryView, TargetView } from '../../api-types.js';
import { UpstreamTlsError } from '../../net/upstream-tls.js';
import { parseLevelSpec } from '../../access/levels.js';
import {
  type AccessLevel, type AutoApprove, CREDENTIAL_MODES, type CredentialMode, DB_TLS_MODES, type DbTlsMode, isDbTlsMode, isTargetKind,
  ROTATE_MODES, type RotateMode, TARGET_KINDS,
} from '../../store/records.js';
import { parseDuration } from '../../util/duration.js';
import { PortcullisError } from '../../util/errors.js';
import type { Input } from '../input.js';
import { type Route, type RouteContext, route } from '../router.js';
import { me } from './identity.js';

export const catalogRoutes: Route[] = [
  // Need-to-know: admins get targets whole; everyone else what target-visibility.ts lets them see.
  route('GET', '/api/v1/targets', 'any', async (c): Promise<TargetView[] | TargetSummaryView[]> => {
    if (audienceOf(me(c)) === 'full') return (await c.services.targets.list()).map(targetView);
    return (await visible(c)).map(targetSummaryView);
  }),
  route('GET', '/api/v1/targets/:name', 'any', async (c): Promise<TargetView | TargetSummaryView> => {
    if (audienceOf(me(c)) === 'full') return targetView(await c.services.targets.get(c.params.name!));
    const v = (await visible(c)).find((x) => x.target.name === c.params.name);
    // The same answer as for a target that does not exist: a name it may not see stays unknown.
    if (!v) throw new PortcullisError('not-found', `no target "${c.params.name!}"; see "portcullis target list"`);
    return targetSummaryView(v);
  }),
  route('POST', '/api/v1/targets', ['admin'], async (c) => {
    const kind = c.body.str('kind');
    if (!isTargetKind(kind)) throw new PortcullisError('bad-request', `kind must be one of ${TARGET_KINDS.join(', ')}`);
    const tls = tlsMode(c.body.optStr('tls'));
    const t = await c.services.targets.add(me(c).name, {
      name: c.body.str('name'), kind, host: c.body.str('host'), port: c.body.optNum('port'), account: c.body.str('account'),
      password: c.body.optStr('password'), privateKey: c.body.optStr('private_key'), hostKey: c.body.optStr('host_key'),
      database: c.body.optStr('database'), tls, tlsCaPem: c.body.optStr('tls_ca'), tlsFingerprint: c.body.optStr('tls_fingerprint'),
      allowWeakUpstreamAuth: c.body.optBool('allow_weak_upstream_auth') ?? false,
      rsaKeyFingerprint: c.body.optStr('mysql_rsa_fingerprint'), tags: c.body.strList('tags'), ...zspFields(c.body),
    });
    return targetView(t);
  }),
  // Changes the named target in place; only the fields given change. Changing where its credential
  // goes (kind, host, port, account, host key, TLS) needs password or private_key again.
  route('POST', '/api/v1/targets/:name', ['admin'], async (c) => {
    const b = c.body;
    const kind = b.optStr('kind');
    if (kind !== undefined && !isTargetKind(kind)) throw new PortcullisError('bad-request', `kind must be one of ${TARGET_KINDS.join(', ')}`);
    const r = await c.services.targets.update(me(c).name, c.params.name!, {
      kind, host: b.optStr('host'), port: b.optNum('port'), account: b.optStr('account'), hostKey: b.optStr('host_key'),
      database: nullable(b, 'database'), tls: tlsMode(b.optStr('tls')), tlsCaPem: nullable(b, 'tls_ca'), tlsFingerprint: nullable(b, 'tls_fingerprint'),
      allowWeakUpstreamAuth: b.optBool('allow_weak_upstream_auth'), rsaKeyFingerprint: nullable(b, 'mysql_rsa_fingerprint'),
      tags: b.raw('tags') === undefined ? undefined : b.strList('tags'), password: b.optStr('password'), privateKey: b.optStr('private_key'),
      ...zspFields(b),
    });
    return { ...targetView(r.target), changed: r.changed, credential: r.credential, repointed: r.repointed, grants_revoked: r.grantsRevoked };
  }),
  // The certificate a database server presents, fetched from where the gateway stands (what it will
  // connect to), for an admin to confirm and pin. Speaks only the TLS upgrade: no user, no secret.
  route('POST', '/api/v1/fetch-cert', ['admin'], async (c) => {
    const kind = c.body.str('kind');
    if (!isTargetKind(kind)) throw new PortcullisError('bad-request', `kind must be one of ${TARGET_KINDS.join(', ')}`);
    const host = c.body.str('host');
    const port = c.body.optNum('port') ?? (kind === 'mysql' ? 3306 : 5432);
    if (!host || /[\s/]/.test(host)) throw new PortcullisError('bad-request', 'host is required (a name or an address)');
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new PortcullisError('bad-request', 'port must be 1-65535');
    try {
      return certificateView(await c.composed.fetchCertificate(kind, host, port, c.body.optStr('tls_ca') ?? null));
    } catch (e) {
      if (e instanceof UpstreamTlsError) throw new PortcullisError('bad-request', e.message);
      throw e;
    }
  }),
  route('DELETE', '/api/v1/targets/:name', ['admin'], async (c) => {
    // force=1: remove it even when its ephemeral accounts cannot be dropped (they are abandoned, audited).
    await c.services.targets.remove(me(c).name, c.params.name!, { force: c.query.get('force') === '1' });
    return { removed: c.params.name };
  }),
  route('POST', '/api/v1/targets/:name/test', ['admin'], async (c) => {
    const t = await c.services.targets.get(c.params.name!);
    const result = await c.composed.checkTarget(t);
    await c.services.audit.append('target.tested', me(c).name, { target: t.name, ok: result.ok, detail: result.detail, ...(result.tls ? { tls: result.tls } : {}) });
    return { target: t.name, ...result };
  }),
  // Ephemeral accounts with their state, newest first; never a secret. ?target=NAME narrows.
  route('GET', '/api/v1/ephemeral-accounts', ['admin'], (c): Promise<EphemeralAccountView[]> => {
    const limit = Number(c.query.get('limit') ?? 100);
    if (!Number.isInteger(limit) || limit < 1) throw new PortcullisError('bad-request', 'limit must be a whole number');
    return c.services.ephemeral.list({ target: c.query.get('target') ?? undefined, limit: Math.min(limit, 1000) });
  }),
  // Rotates the target's static credential now; the answer says when and that it was verified, never the secret.
  route('POST', '/api/v1/targets/:name/rotate', ['admin'], async (c) => {
    const r = await c.services.rotation.rotate(c.params.name!, 'manual', me(c).name);
    return {
      target: r.target, rotated_at: new Date(r.rotatedAt).toISOString(), verified: r.verified,
      ...(r.oldKeyRetired !== undefined ? { old_key_retired: r.oldKeyRetired } : {}), ...(r.recovered ? { recovered: r.recovered } : {}),
    };
  }),
  route('GET', '/api/v1/policies', ['approver'], async (c) => (await c.services.policies.list()).map(policyView)),
  route('POST', '/api/v1/policies', ['admin'], async (c) => policyView(await c.services.policies.add(me(c).name, policyFromInput(c.body)))),
  // Replaces the named policy whole (same body as creating one); grants standing on it are held to it at once.
  route('POST', '/api/v1/policies/:name', ['admin'], async (c) => {
    const r = await c.services.policies.replace(me(c).name, c.params.name!, policyFromInput(c.body, c.params.name));
    return { ...policyView(r.policy), grants_revoked: r.revoked, grants_shortened: r.shortened };
  }),
  route('DELETE', '/api/v1/policies/:name', ['admin'], async (c) => {
    await c.services.policies.remove(me(c).name, c.params.name!);
    return { removed: c.params.name };
  }),
];

function tlsMode(tls: string | undefined): DbTlsMode | undefined {
  if (tls !== undefined && !isDbTlsMode(tls)) throw new PortcullisError('bad-request', `tls must be one of ${DB_TLS_MODES.join(', ')}`);
  return tls;
}

/** A string field that JSON null (or "") clears; absent leaves it as it is. */
function nullable(b: Input, field: string): string | null | undefined {
  if (b.raw(field) === null) return null;
  return b.optStr(field);
}

/**
 * Issue 15's target fields: `credential` static|ephemeral, `levels` (least privileged first; each
 * "NAME=SPEC" as on the command line, or {name, grants}), `rotate`, `ephemeral_reassign_to` (null
 * clears), `keep_home`. Absent fields stay undefined (add: defaults; update: unchanged).
 */
function zspFields(b: Input): {
  credentialMode?: CredentialMode; levels?: AccessLevel[]; rotate?: RotateMode; ephemeralReassignTo?: string | null; ephemeralKeepHome?: boolean;
} {
  const mode = b.optStr('credential');
  if (mode !== undefined && !(CREDENTIAL_MODES as readonly string[]).includes(mode)) throw new PortcullisError('bad-request', `credential must be one of ${CREDENTIAL_MODES.join(', ')}`);
  const rotate = b.optStr('rotate');
  if (rotate !== undefined && !(ROTATE_MODES as readonly string[]).includes(rotate)) throw new PortcullisError('bad-request', `rotate must be one of ${ROTATE_MODES.join(', ')}`);
  const reassign = nullable(b, 'ephemeral_reassign_to');
  const keepHome = b.optBool('keep_home');
  const levels = levelsOf(b.raw('levels'));
  return {
    ...(mode !== undefined ? { credentialMode: mode as CredentialMode } : {}), ...(levels ? { levels } : {}),
    ...(rotate !== undefined ? { rotate: rotate as RotateMode } : {}), ...(reassign !== undefined ? { ephemeralReassignTo: reassign } : {}),
    ...(keepHome !== undefined ? { ephemeralKeepHome: keepHome } : {}),
  };
}

function levelsOf(raw: unknown): AccessLevel[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const bad = (): never => { throw new PortcullisError('bad-request', 'levels must be a list of "NAME=SPEC" strings or {name, grants} objects'); };
  if (!Array.isArray(raw) || raw.length === 0) return bad();
  if (raw.length > 64) throw new PortcullisError('bad-request', 'a target has at most 32 levels');
  return raw.map((x: unknown): AccessLevel => {
    if (typeof x === 'string') return parseLevelSpec(x);
    if (typeof x !== 'object' || x === null) return bad();
    const { name, grants } = x as { name?: unknown; grants?: unknown };
    if (typeof name !== 'string') return bad();
    if (grants === undefined) return { name, grants: [] };
    if (!Array.isArray(grants) || grants.length > 64 || !grants.every((g): g is string => typeof g === 'string')) return bad();
    return { name, grants: [...grants] };
  });
}

async function visible(c: RouteContext): Promise<ReturnType<typeof visibleTargets>> {
  const u = me(c);
  const [targets, policies, grants] = await Promise.all([c.services.targets.list(), c.services.policies.list(), c.services.grants.list({ active: true, userId: u.id })]);
  return visibleTargets(u, targets, policies, grants);
}

function policyFromInput(b: Input, name?: string): Parameters<import('../../access/policies.js').PolicyService['add']>[1] {
  const window = b.optStr('auto_approve_window');
  const autoRoles = b.strList('auto_approve_roles');
  const onCall = b.strList('on_call');
  const auto = b.optBool('auto_approve') || window !== undefined || autoRoles.length > 0 || onCall.length > 0;
  const autoApprove: AutoApprove | null = auto ? autoApproveFrom(autoRoles, onCall, window) : null;
  // The access window and the ticket check: absent or "" (or null) is none. The URL is checked by the policy service.
  const accessWindow = b.optStr('window');
  const ticketCheck = b.raw('ticket_check') === null ? undefined : b.optStr('ticket_check');
  return {
    name: name ?? b.str('name'), roles: b.strList('roles'), targets: b.strList('targets'), targetTags: b.strList('tags'),
    maxDurationMs: parseDuration(b.optStr('max') ?? '1h'), requireReason: b.optBool('require_reason') ?? true,
    ticketPattern: b.optStr('ticket_pattern') ?? null, approvalsRequired: b.optNum('approvals') ?? 1,
    approverRoles: b.strList('approver_roles'), autoApprove, breakglass: b.optBool('breakglass') ?? false,
    recordKeystrokes: b.optBool('record_keystrokes') ?? true, allowPortForwarding: b.optBool('allow_port_forwarding') ?? false,
    captureFullOutput: b.optBool('capture_full_output') ?? false, recordingRequired: b.optBool('recording_required') ?? true,
    allowLinks: b.optBool('allow_links') ?? false, levels: b.strList('levels'),
    window: accessWindow === undefined || accessWindow.trim() === '' ? null : parseWindow(accessWindow, 'window'),
    ticketCheck: ticketCheck === undefined || ticketCheck.trim() === '' ? null : ticketCheck.trim(),
  };
}
