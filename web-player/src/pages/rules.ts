// Guardrail rules for admins (GET/POST /api/v1/rules, DELETE /api/v1/rules/NAME): the rules in
// the order they are checked, a form to add one and a two-step remove. The gateway checks every
// rule (regex, class, scope) and words the refusal; the form shows that answer as it comes and
// only shapes the input (a command rule has no class). Rule text is only ever set as text.
import type { RuleAddedView, RuleView } from '../../../gateway/api-types.js';
import { apiFor, ApiError, el, type PageApi } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';

/** The SQL classes of DESIGN 3d (rules/rule-spec.ts SQL_CLASSES), and function:NAME. */
const CLASSES = ['drop', 'truncate', 'ddl', 'unbounded-write', 'grant', 'copy-program', 'alter-system', 'function:'];

const td = (s: string): HTMLTableCellElement => el('td', {}, s);
const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter(Boolean);

export async function rulesPage(root: HTMLElement, page: PageLifecycle): Promise<void> {
  const api = apiFor(page);
  const error = el('div', { class: 'error', role: 'alert', id: 'rule-error' });
  const notes = el('div', { class: 'meta', id: 'rule-notes' });
  const tbody = el('tbody');
  const show = (e: unknown): void => { error.textContent = e instanceof ApiError ? e.message : 'failed'; };
  const load = async (): Promise<void> => {
    const rules = await api.get<RuleView[]>('/api/v1/rules');
    tbody.replaceChildren(...(rules.length === 0
      ? [el('tr', {}, el('td', { colspan: '8', class: 'meta' }, 'No rules: every statement and command passes.'))]
      : rules.map((r) => ruleRow(page, api, r, { error, reload: () => { void load().catch(show); } }))));
  };
  await load();
  const form = addForm(page, api, { error, notes, reload: load });
  root.replaceChildren(el('h2', {}, 'Guardrail rules'),
    el('p', { class: 'meta' }, 'Deny or flag SQL statements and SSH commands before they reach the target. Any matching deny rule wins; otherwise the first matching flag rule flags the session.'),
    form, error, notes,
    el('table', { id: 'rules' }, el('thead', {}, el('tr', {}, ...['Name', 'Kind', 'Rule', 'Action', 'Scope', 'Unparsable', 'Message', ''].map((h) => el('th', {}, h)))), tbody));
}

function ruleRow(page: PageLifecycle, api: PageApi, r: RuleView, ui: { error: HTMLElement; reload(): void }): HTMLTableRowElement {
  const scope = [r.targets.length ? `targets ${r.targets.join(', ')}` : 'every target', r.roles.length ? `roles ${r.roles.join(', ')}` : '',
    r.levels.length ? `levels ${r.levels.join(', ')}` : ''].filter(Boolean).join('; ');
  const cell = el('td', {});
  const remove = el('button', { class: 'danger', 'data-remove-rule': r.name }, 'Remove');
  // Two steps: a guardrail removed by a stray click is exactly what must not happen unnoticed.
  page.listen(remove, 'click', () => {
    const yes = el('button', { class: 'danger', 'data-confirm-remove': r.name }, `Remove ${r.name}`);
    const no = el('button', { 'data-cancel-remove': r.name }, 'Cancel');
    page.listen(yes, 'click', () => {
      ui.error.textContent = '';
      yes.setAttribute('disabled', '');
      api.del(`/api/v1/rules/${encodeURIComponent(r.name)}`).then(() => ui.reload(), (e: unknown) => {
        ui.error.textContent = e instanceof ApiError ? e.message : 'failed';
        yes.removeAttribute('disabled');
      });
    });
    page.listen(no, 'click', () => cell.replaceChildren(remove));
    cell.replaceChildren('Sure? ', yes, ' ', no);
  });
  cell.append(remove);
  return el('tr', { 'data-rule': r.name, class: r.action }, td(r.name), td(r.kind), td(r.class ?? `match ${r.match ?? ''}`), td(r.action), td(scope),
    td(r.kind === 'sql' ? r.unparsable : ''), td(r.message ?? (r.action === 'deny' ? `(blocked by rule ${r.name})` : '')), cell);
}

function addForm(page: PageLifecycle, api: PageApi, ui: { error: HTMLElement; notes: HTMLElement; reload(): Promise<void> }): HTMLElement {
  const input = (name: string, placeholder: string, size = '14'): HTMLInputElement => el('input', { name, placeholder, size });
  const name = input('rule-name', 'name, e.g. no-drop');
  const kind = el('select', { name: 'rule-kind' }, el('option', { value: 'sql' }, 'SQL'), el('option', { value: 'command' }, 'command'));
  const how = el('select', { name: 'rule-how' }, el('option', { value: 'class' }, 'class'), el('option', { value: 'match' }, 'match'));
  const cls = el('select', { name: 'rule-class' }, ...CLASSES.map((c) => el('option', { value: c }, c === 'function:' ? 'function:NAME' : c)));
  const fn = input('rule-function', 'function name', '18');
  const match = input('rule-match', 'regex, or glob:PATTERN for commands', '28');
  const action = el('select', { name: 'rule-action' }, el('option', { value: 'deny' }, 'deny'), el('option', { value: 'flag' }, 'flag'));
  const targets = input('rule-targets', 'targets, tag:NAME (all)');
  const roles = input('rule-roles', 'roles (all)');
  const levels = input('rule-levels', 'levels (all)');
  const message = input('rule-message', 'message shown on deny', '30');
  const unparsable = el('select', { name: 'rule-unparsable', title: 'what a statement the parser cannot read counts as' },
    el('option', { value: '' }, 'unparsable: default'), el('option', { value: 'deny' }, 'unparsable: deny'), el('option', { value: 'allow' }, 'unparsable: allow'));
  const submit = el('button', { 'data-rule-add': '' }, 'Add rule');
  // A command rule has no class; a class rule no pattern: show only what the choice takes.
  const shape = (): void => {
    if (kind.value === 'command') how.value = 'match';
    how.toggleAttribute('disabled', kind.value === 'command');
    const byClass = how.value === 'class';
    cls.hidden = !byClass;
    fn.hidden = !byClass || cls.value !== 'function:';
    match.hidden = byClass;
    unparsable.hidden = kind.value !== 'sql';
  };
  for (const s of [kind, how, cls]) page.listen(s, 'change', shape);
  shape();
  page.listen(submit, 'click', () => {
    ui.error.textContent = '';
    ui.notes.textContent = '';
    const byClass = how.value === 'class';
    const body = {
      name: name.value.trim(), kind: kind.value, action: action.value,
      ...(byClass ? { class: cls.value === 'function:' ? `function:${fn.value.trim()}` : cls.value } : { match: match.value }),
      targets: list(targets.value), roles: list(roles.value), levels: list(levels.value),
      ...(message.value.trim() ? { message: message.value } : {}),
      ...(kind.value === 'sql' && unparsable.value ? { unparsable: unparsable.value } : {}),
    };
    submit.setAttribute('disabled', '');
    api.post<RuleAddedView>('/api/v1/rules', body).then(async (r) => {
      ui.notes.replaceChildren(`Rule ${r.name} added.`, ...r.warnings.map((w) => el('div', { class: 'note' }, `Note: ${w}`)));
      for (const f of [name, match, fn, message]) f.value = '';
      await ui.reload();
    }, (e: unknown) => { ui.error.textContent = e instanceof ApiError ? e.message : 'failed'; })
      .finally(() => submit.removeAttribute('disabled'));
  });
  return el('div', { class: 'filters', id: 'rule-form' }, name, kind, how, cls, fn, match, action, targets, roles, levels, message, unparsable, submit);
}
