// Guardrail rules (DESIGN 3d): list, add, remove; admins only (an approver or a requester gets 403:
// a rule decides what every user may run, and its absence is what an attacker would want).
// Checking, storing, auditing and telling the other nodes is the rule service's (rules/rule-service.ts).
import type { RuleAddedView, RuleView } from '../../api-types.js';
import type { RuleRecord } from '../../store/records.js';
import { PortcullisError } from '../../util/errors.js';
import type { Input } from '../input.js';
import { type Route, route } from '../router.js';
import { me } from './identity.js';

export const ruleRoutes: Route[] = [
  route('GET', '/api/v1/rules', ['admin'], async (c): Promise<RuleView[]> => (await c.services.rules.list()).map(ruleView)),
  route('POST', '/api/v1/rules', ['admin'], async (c): Promise<RuleAddedView> => {
    const b = c.body;
    const r = await c.services.rules.add(me(c).name, {
      name: b.str('name'), kind: oneOf(b, 'kind', ['sql', 'command'] as const, true), action: oneOf(b, 'action', ['deny', 'flag'] as const, true),
      class: b.optStr('class'), match: b.optStr('match'), targets: b.strList('targets'), roles: b.strList('roles'), levels: b.strList('levels'),
      message: b.optStr('message'), unparsable: oneOf(b, 'unparsable', ['deny', 'allow'] as const, false),
    });
    return { ...ruleView(r.rule), warnings: r.warnings };
  }),
  route('DELETE', '/api/v1/rules/:name', ['admin'], async (c) => {
    const r = await c.services.rules.remove(me(c).name, c.params.name!);
    return { removed: r.name };
  }),
];

export function ruleView(r: RuleRecord): RuleView {
  return {
    id: r.id, name: r.name, kind: r.kind, class: r.class, match: r.match, action: r.action, targets: r.targets, roles: r.roles,
    levels: r.levels, message: r.message, unparsable: r.unparsable, created_at: new Date(r.createdAt).toISOString(), created_by: r.createdBy,
  };
}

function oneOf<T extends string>(b: Input, field: string, values: readonly T[], required: true): T;
function oneOf<T extends string>(b: Input, field: string, values: readonly T[], required: false): T | undefined;
function oneOf<T extends string>(b: Input, field: string, values: readonly T[], required: boolean): T | undefined {
  const v = required ? b.str(field) : b.optStr(field);
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v)) throw new PortcullisError('bad-request', `${field} must be ${values.join(' or ')} (got "${v.slice(0, 40)}")`);
  return v as T;
}
