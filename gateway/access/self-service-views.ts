// Self-service shapes: the catalog of what a user may request, and the line to connect with a grant.
// Pure: the route hands in records, the time and the gateway's addresses; nothing here reads a store.
// The catalog is built from the same matching (policy-match.ts) and the same choice order
// (policy-choice.ts) a request goes through, so it never offers what a request would refuse nor
// hides what it would allow. It does not decide anything: requests.ts still checks every request.
import type {
  CatalogEntryView, CatalogPolicyView, CatalogWindowView, ConnectLineView,
} from '../api-types.js';
import type { AccessWindow, PolicyRecord, TargetKind, TargetRecord, UserRecord } from '../store/records.js';
import { approvesAtOnce, requestOrder } from './policy-choice.js';
import { policyCovers } from './policy-match.js';
import { autoApproveView } from './views.js';

/** Every (target, level) some policy lets `user` request, target by target in name order, levels least privileged first. */
export function catalogFor(user: UserRecord, targets: readonly TargetRecord[], policies: readonly PolicyRecord[], now: number): CatalogEntryView[] {
  const out: CatalogEntryView[] = [];
  for (const target of [...targets].sort((a, b) => a.name.localeCompare(b.name))) {
    target.levels.forEach((l, i) => {
      const covering = policies.filter((p) => policyCovers(p, user, target, l.name));
      if (covering.length === 0) return;
      const ordered = requestOrder(covering, user, now);
      out.push({
        target: target.name, kind: target.kind, tags: target.tags, level: l.name, default_level: i === 0,
        max_duration_s: Math.max(...ordered.map((p) => p.maxDurationMs)) / 1000,
        policies: ordered.map((p) => catalogPolicyView(p, user, now)),
      });
    });
  }
  return out;
}

function catalogPolicyView(p: PolicyRecord, user: UserRecord, now: number): CatalogPolicyView {
  return {
    name: p.name, max_duration_s: p.maxDurationMs / 1000, require_reason: p.requireReason, ticket_pattern: p.ticketPattern,
    ticket_check: p.ticketCheck !== null, window: p.window && windowView(p.window), auto_now: approvesAtOnce(p, user, now),
    approvals_required: p.approvalsRequired, approver_roles: p.approverRoles, auto_approve: p.autoApprove && autoApproveView(p.autoApprove),
  };
}

const windowView = (w: AccessWindow): CatalogWindowView => ({ days: w.days, from_minute: w.fromMinute, to_minute: w.toMinute, zone: w.zone });

/** Where users reach the gateway's listeners (ApiServices.addresses, the public URL's host preferred). */
export interface ConnectAddresses { host: string; sshPort: number; pgPort: number; mysqlPort: number }

/**
 * The exact command line for a grant: `USER+TARGET` (with `+LEVEL` when the level is not the
 * target's first, since the bare form reaches the least privileged grant held), and where the
 * password comes from. Names are checkName-safe; the host and database are quoted for the shell
 * when they need it.
 */
export function connectLine(user: UserRecord, target: Pick<TargetRecord, 'name' | 'kind' | 'levels' | 'database' | 'account'>, level: string, at: ConnectAddresses): ConnectLineView {
  const login = `${user.name}+${target.name}${target.levels[0]?.name === level ? '' : `+${level}`}`;
  const host = at.host;
  const kind: TargetKind = target.kind;
  switch (kind) {
    case 'ssh':
      return { command: `ssh -p ${at.sshPort} ${shellWord(`${login}@${host}`)}`, password: sshSecret(user) };
    case 'postgres': {
      const info = `host=${conninfoValue(host)} port=${at.pgPort} user=${conninfoValue(login)} dbname=${conninfoValue(target.database ?? target.account)} sslmode=require`;
      return { command: `psql ${shellWord(info, true)}`, password: dbSecret(user, target.name) };
    }
    case 'mysql':
      return { command: `mysql -h ${shellWord(host)} -P ${at.mysqlPort} -u ${shellWord(login)} -p --ssl`, password: dbSecret(user, target.name) };
  }
}

function sshSecret(u: UserRecord): string {
  if (u.sshKeys.length > 0) return 'your SSH key (or your Portcullis password)';
  if (u.source === 'oidc') return 'the certificate "portcullis login --sso" leaves (see "portcullis ssh-config"), or approve the login in your browser';
  return u.totpSealed !== null ? 'your Portcullis password, then your one-time code' : 'your Portcullis password';
}

/** Database clients cannot carry a one-time code, and single sign-on users have no password: both get one per grant. */
function dbSecret(u: UserRecord, target: string): string {
  if (u.totpSealed !== null || u.source === 'oidc' || u.passwordHash === null) return `a one-time password from: portcullis db-password ${target}`;
  return 'your Portcullis password';
}

const SHELL_SAFE = /^[A-Za-z0-9._@%+:,/=-]+$/;

/** One shell word: bare when safe, else single-quoted. `quoteAlways`: double quotes read better around a conninfo. */
function shellWord(s: string, quoteAlways = false): string {
  if (/^[A-Za-z0-9._@%+:,/= -]+$/.test(s) && quoteAlways) return `"${s}"`;
  if (SHELL_SAFE.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A libpq conninfo value: bare when plain, else single-quoted with \ and ' escaped. */
function conninfoValue(s: string): string {
  return /^[A-Za-z0-9._:+-]+$/.test(s) ? s : `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
