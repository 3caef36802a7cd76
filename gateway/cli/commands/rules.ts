// `portcullis rule add|list|remove` (DESIGN 3d): guardrail rules that deny or flag SQL statements
// and SSH commands. Every check of a rule happens at the gateway (rules/rule-spec.ts and the rule
// service), so the CLI, the API and the admin page refuse the same things in the same words; the
// CLI only checks what it can say better itself (usage, flags that take one of a few words).
import type { RuleAddedView, RuleView } from '../../api-types.js';
import { PortcullisError } from '../../util/errors.js';
import { type Command, enc, usage } from '../command.js';
import { printList, printOne } from '../output.js';
import { terminalSafe } from '../../util/terminal-safe.js';

const ADD_USAGE = 'portcullis rule add NAME --kind sql|command (--class CLASS | --match PATTERN) --action deny|flag '
  + '[--targets T,..] [--roles R,..] [--levels L,..] [--message TEXT] [--unparsable deny|allow]';
const USAGE = `portcullis rule add|list|remove\n  ${ADD_USAGE}\n  portcullis rule list [--json]\n  portcullis rule remove NAME`;

export const ruleCmd: Command = async (c) => {
  const [sub, name, extra] = c.flags.positionals;
  const api = c.api();
  switch (sub) {
    case 'add': {
      if (!name || extra !== undefined) usage(ADD_USAGE);
      const kind = c.flags.opt('kind');
      const action = c.flags.opt('action');
      if (kind === undefined || action === undefined) usage(ADD_USAGE);
      const body = {
        name, kind: word('kind', kind, ['sql', 'command']), action: word('action', action, ['deny', 'flag']),
        class: c.flags.opt('class'), match: c.flags.opt('match'),
        targets: c.flags.list('targets'), roles: c.flags.list('roles'), levels: c.flags.list('levels'),
        message: c.flags.opt('message'), unparsable: optWord('unparsable', c.flags.opt('unparsable'), ['deny', 'allow']),
      };
      const r = await api.post<RuleAddedView>('/api/v1/rules', body);
      const { warnings, ...rule } = r;
      printOne(c.out, c.json, c.json ? r : rule);
      for (const w of warnings) c.out.error(`portcullis: note: ${terminalSafe(w)}\n`);
      return 0;
    }
    case 'list': {
      if (name !== undefined) usage('portcullis rule list [--json]');
      const rows = await api.get<RuleView[]>('/api/v1/rules');
      if (c.json) {
        printList(c.out, true, rows as unknown as Array<Record<string, unknown>>, []);
        return 0;
      }
      printList(c.out, false, rows.map((r) => ({
        name: r.name, kind: r.kind, rule: r.class ?? `match ${r.match ?? ''}`, action: r.action,
        targets: r.targets, roles: r.roles, levels: r.levels, unparsable: r.kind === 'sql' ? r.unparsable : null, message: r.message,
      })), ['name', 'kind', 'rule', 'action', 'targets', 'roles', 'levels', 'unparsable', 'message']);
      return 0;
    }
    case 'remove':
      if (!name || extra !== undefined) usage('portcullis rule remove NAME');
      printOne(c.out, c.json, await api.del(`/api/v1/rules/${enc(name)}`));
      return 0;
    default:
      usage(USAGE);
  }
};

function word(flag: string, v: string, allowed: string[]): string {
  if (!allowed.includes(v)) throw new PortcullisError('bad-request', `--${flag} must be ${allowed.join(' or ')} (got "${terminalSafe(v.slice(0, 40))}")`);
  return v;
}

function optWord(flag: string, v: string | undefined, allowed: string[]): string | undefined {
  return v === undefined ? undefined : word(flag, v, allowed);
}
