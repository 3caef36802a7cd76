// Rules as an admin manages them (`portcullis rule add|list|remove`, /api/v1/rules, the rules
// page): every rule is checked before it is stored (rule-spec.ts checkRule, plus its scope against
// the store: a target named in --targets must exist and be of the rule's kind), stored with its
// audit entry in one transaction, then this node's rule book reloads at once and the other nodes
// are told on the cluster bus (`rules.changed`; they read the store again, the message carries
// nothing). The periodic reload (compose/gateway.ts) stays as the safety net for a lost message.
// It does not match anything: rule-gate.ts and the matchers do.
import type { AuditLog } from '../audit/audit-log.js';
import type { ClusterBus } from '../cluster/bus.js';
import { LOG, type Logger } from '../log/logger.js';
import type { RuleRecord, TargetRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { PortcullisError } from '../util/errors.js';
import { newId } from '../util/ids.js';
import type { RuleBook } from './rule-book.js';
import { checkRule, type RuleInput } from './rule-spec.js';

/** Entries a rule's --targets, --roles or --levels may list: a scope is a short list, not a data set. */
export const MAX_SCOPE_ENTRIES = 200;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SQL_TARGET_KINDS: ReadonlySet<string> = new Set(['postgres', 'mysql']);

export interface RuleServiceDeps {
  store: Pick<Store, 'rules' | 'targets' | 'users' | 'transaction'>;
  audit: Pick<AuditLog, 'append'>;
  clock: Clock;
  book: RuleBook;
  bus: Pick<ClusterBus, 'publish' | 'on' | 'onListening'>;
  log: Logger;
}

export interface RuleAdded {
  rule: RuleRecord;
  /** What was accepted but may not be what the admin meant (a role no user has yet, ...). */
  warnings: string[];
}

export class RuleService {
  constructor(private readonly d: RuleServiceDeps) {}

  /** The rules every node checks, as this node holds them now. */
  get book(): RuleBook {
    return this.d.book;
  }

  /** Listens for other nodes' changes; call once, before the bus starts. */
  attach(): void {
    this.d.bus.on('rules.changed', () => { void this.reloadLogged(); });
    // Messages may have been lost while the bus was not listening: read again at once.
    this.d.bus.onListening((up) => { if (up) void this.reloadLogged(); });
  }

  /** Reads the rules again (serve at start and periodically; after every change). */
  reload(): Promise<void> {
    return this.d.book.reload();
  }

  list(): Promise<RuleRecord[]> {
    return this.d.store.rules.list();
  }

  async add(actor: string, input: RuleInput): Promise<RuleAdded> {
    const fields = checkRule(input);
    const targets = scopeList('--targets', input.targets, (t) => (t.startsWith('tag:') ? checkWord('tag', t.slice(4)) : checkWord('target', t)));
    const roles = scopeList('--roles', input.roles, (r) => checkWord('role', r));
    const levels = scopeList('--levels', input.levels, (l) => checkWord('level', l));
    const known = await this.d.store.targets.list();
    const warnings = [...checkTargets(input.kind, targets, known), ...(await this.roleWarnings(roles)), ...levelWarnings(levels, targets, known)];
    const rec: RuleRecord = {
      id: newId('rul'), name: input.name, kind: input.kind, action: input.action, targets, roles, levels, ...fields,
      createdAt: this.d.clock.now(), createdBy: actor,
    };
    const first = !(await this.d.store.rules.list()).some((r) => r.kind === rec.kind);
    // The store's unique name decides between two adds of one name at once (conflict for the second).
    await this.d.store.transaction(async () => {
      await this.d.store.rules.insert(rec);
      await this.d.audit.append('rule.added', actor, {
        rule: rec.name, kind: rec.kind, action: rec.action, class: rec.class, match: rec.match, targets, roles, levels,
        message: rec.message, unparsable: rec.unparsable,
      });
    });
    if (first) {
      warnings.push(`this is the first ${rec.kind} rule: sessions already running relay without checks and are checked from their next connection`);
    }
    await this.changed();
    return { rule: rec, warnings };
  }

  async remove(actor: string, name: string): Promise<RuleRecord> {
    const removed = await this.d.store.transaction(async () => {
      const r = await this.d.store.rules.byName(name);
      if (!r || !(await this.d.store.rules.remove(name))) throw new PortcullisError('not-found', `no rule "${name.slice(0, 80)}"; see "portcullis rule list"`);
      await this.d.audit.append('rule.removed', actor, { rule: r.name, kind: r.kind, action: r.action, class: r.class, match: r.match });
      return r;
    });
    await this.changed();
    return removed;
  }

  /** After a committed change: this node enforces it before the caller hears back; the others are told. */
  private async changed(): Promise<void> {
    this.d.bus.publish({ t: 'rules.changed' }).catch((err: unknown) => this.d.log.warn({ type: 'rules.changed', err: errText(err) }, LOG.clusterPublishFailed));
    await this.reloadLogged();
  }

  private async reloadLogged(): Promise<void> {
    await this.d.book.reload().catch((err: unknown) => this.d.log.warn({ err: errText(err) }, LOG.rulesReloadFailed));
  }

  private async roleWarnings(roles: string[]): Promise<string[]> {
    if (roles.length === 0) return [];
    const have = new Set((await this.d.store.users.list()).flatMap((u) => u.roles));
    // Roles are labels an admin gives users; a rule may come before the first user with the role.
    return roles.filter((r) => !have.has(r) && r !== 'admin').map((r) => `no user has role "${r}" yet; the rule applies once one has`);
  }
}

/** A scope list: trimmed, each entry checked, duplicates dropped, bounded. */
function scopeList(flag: string, raw: readonly string[] | undefined, check: (v: string) => string): string[] {
  const out = [...new Set((raw ?? []).map((v) => v.trim()).filter((v) => v.length > 0))];
  if (out.length > MAX_SCOPE_ENTRIES) throw new PortcullisError('bad-request', `${flag} lists at most ${MAX_SCOPE_ENTRIES} entries (use tag:NAME for many targets)`);
  for (const v of out) check(v);
  return out;
}

function checkWord(what: string, v: string): string {
  if (!NAME.test(v)) throw new PortcullisError('bad-request', `invalid ${what} "${v.slice(0, 80)}" in the rule's scope: use 1-64 letters, digits, ".", "_" or "-"`);
  return v;
}

/**
 * Named targets must exist (a typo would silently scope the rule to nothing) and be of the rule's
 * kind (an SQL rule on an SSH target would never match anything). Tags are not checked: a tag
 * may be given to targets after the rule, but a tag no target has is worth a warning.
 */
function checkTargets(kind: RuleRecord['kind'], targets: string[], known: TargetRecord[]): string[] {
  const warnings: string[] = [];
  for (const t of targets) {
    if (t.startsWith('tag:')) {
      if (!known.some((k) => k.tags.includes(t.slice(4)))) warnings.push(`no target has tag "${t.slice(4)}" yet; the rule applies to targets once they have it`);
      continue;
    }
    const target = known.find((k) => k.name === t);
    if (!target) throw new PortcullisError('bad-request', `unknown target "${t}" in --targets; see "portcullis target list" (for a tag write tag:NAME)`);
    const sqlTarget = SQL_TARGET_KINDS.has(target.kind);
    if (kind === 'sql' && !sqlTarget) throw new PortcullisError('bad-request', `target "${t}" is an ${target.kind} target: an SQL rule applies to postgres and mysql targets (use --kind command for SSH)`);
    if (kind === 'command' && sqlTarget) throw new PortcullisError('bad-request', `target "${t}" is a ${target.kind} target: a command rule applies to ssh targets (use --kind sql for databases)`);
  }
  return warnings;
}

/** Levels are names each target defines for itself: one that no target in scope has is accepted with a warning. */
function levelWarnings(levels: string[], targets: string[], known: TargetRecord[]): string[] {
  if (levels.length === 0) return [];
  const named = targets.filter((t) => !t.startsWith('tag:'));
  const inScope = named.length > 0 && named.length === targets.length ? known.filter((k) => named.includes(k.name)) : known;
  const have = new Set(inScope.flatMap((k) => (k.levels.length > 0 ? k.levels.map((l) => l.name) : ['default'])));
  return levels.filter((l) => !have.has(l)).map((l) => `no target${named.length === targets.length && named.length > 0 ? ' in --targets' : ''} has level "${l}"`);
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
