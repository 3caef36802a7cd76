// The request form for one catalog entry: level (following the target), duration (at most the
// policy's), reason and ticket as the policy asks, and, before submitting, what will happen: granted
// at once, or how many approvals from whom. The checks shown here mirror the policy the request will
// stand on (the catalog lists policies in a request's order); the gateway still decides and words
// any refusal, which the form shows as it comes.
import type { CatalogEntryView, CatalogPolicyView, RequestView } from '../../../gateway/api-types.js';
import { apiFor, ApiError, el } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';
import { approvalText, duration, ticketText, windowText } from './access-words.js';

export async function requestFormPage(root: HTMLElement, page: PageLifecycle, targetName: string, wantedLevel: string | null): Promise<void> {
  const api = apiFor(page);
  const entries = await api.get<CatalogEntryView[]>('/api/v1/catalog');
  const targets = [...new Set(entries.map((e) => e.target))];
  if (targets.length === 0) {
    root.replaceChildren(el('h2', {}, 'Request access'), el('p', {}, 'No policy lets you request access yet; ask a Portcullis admin.'));
    return;
  }
  const target = el('select', { name: 'target' }, ...targets.map((t) => el('option', { value: t }, t)));
  target.value = targets.includes(targetName) ? targetName : targets[0]!;
  const level = el('select', { name: 'level' });
  const minutes = el('input', { name: 'minutes', type: 'number', min: '1', step: '1', value: '30', required: '' });
  const max = el('span', { class: 'note' });
  const reason = el('input', { name: 'reason', maxlength: '1000' });
  const ticket = el('input', { name: 'ticket', maxlength: '200' });
  const ticketNote = el('span', { class: 'note' });
  const preview = el('div', { class: 'preview', 'data-preview': '' });
  const error = el('div', { class: 'error', role: 'alert' });
  const result = el('div', { class: 'result', role: 'status' });
  const submit = el('button', { type: 'submit', 'data-submit': '' }, 'Request');

  const entry = (): CatalogEntryView | undefined => entries.find((e) => e.target === target.value && e.level === level.value);
  const chosen = (e: CatalogEntryView | undefined): CatalogPolicyView | undefined => e?.policies.find((p) => p.max_duration_s >= Number(minutes.value) * 60);
  const fillLevels = (prefer: string | null): void => {
    const levels = entries.filter((e) => e.target === target.value).map((e) => e.level);
    level.replaceChildren(...levels.map((l) => el('option', { value: l }, l)));
    if (prefer && levels.includes(prefer)) level.value = prefer;
  };
  /** What the policy asks, checked as the user types; returns whether the request may be sent. */
  const check = (): boolean => {
    const e = entry();
    if (!e) { preview.textContent = ''; return false; }
    max.textContent = `at most ${duration(e.max_duration_s)}`;
    const m = Number(minutes.value);
    const p = chosen(e);
    if (!Number.isInteger(m) || m < 1) { preview.textContent = 'Give a whole number of minutes.'; return false; }
    if (!p) { preview.textContent = `At most ${duration(e.max_duration_s)} may be requested for ${e.target}.`; return false; }
    reason.placeholder = p.require_reason ? 'reason (required)' : 'reason (optional)';
    // A ticket check needs a ticket to ask the ticket system about, pattern or not.
    const ticketRequired = p.ticket_pattern !== null || p.ticket_check;
    ticket.placeholder = ticketRequired ? 'ticket (required)' : 'ticket (optional)';
    ticketNote.textContent = `Ticket: ${ticketText(p)}`;
    const problems: string[] = [];
    if (p.require_reason && reason.value.trim() === '') problems.push('a reason is required');
    if (p.ticket_pattern !== null && !ticketMatches(p.ticket_pattern, ticket.value.trim())) problems.push(`the ticket must match /${p.ticket_pattern}/`);
    else if (p.ticket_check && ticket.value.trim() === '') problems.push('a ticket is required (the ticket system checks it)');
    preview.replaceChildren(
      el('strong', { 'data-approval': p.auto_now ? 'auto' : 'approval' }, p.auto_now ? 'Granted at once (auto-approved).' : `${cap(approvalText(p))}.`),
      el('div', {}, `Policy ${p.name}; usable ${windowText(p.window)}.`),
      ...problems.map((x) => el('div', { class: 'error' }, `Before sending: ${x}.`)));
    return problems.length === 0;
  };
  const update = (): void => { submit.disabled = !check(); };

  fillLevels(wantedLevel);
  const initial = entry();
  if (initial) minutes.value = String(Math.max(1, Math.min(30, Math.floor(initial.max_duration_s / 60))));
  update();
  page.listen(target, 'change', () => { fillLevels(null); update(); });
  for (const i of [level, minutes, reason, ticket]) page.listen(i, 'input', update);
  page.listen(level, 'change', update);

  const form = el('form', { class: 'card wide request-form' },
    el('label', {}, 'Target ', target), el('label', {}, 'Level ', level),
    el('label', {}, 'Minutes ', minutes, ' ', max), el('label', {}, 'Reason ', reason),
    el('label', {}, 'Ticket ', ticket), ticketNote, preview, error, submit, result);
  page.listen(form, 'submit', (ev) => {
    ev.preventDefault();
    if (!check()) return;
    error.textContent = '';
    submit.disabled = true;
    api.post<RequestView>('/api/v1/requests', {
      target: target.value, level: level.value, for: `${Number(minutes.value)}m`, reason: reason.value, ...(ticket.value.trim() ? { ticket: ticket.value.trim() } : {}),
    }).then((r) => {
      result.replaceChildren(
        el('span', { 'data-result': r.status }, r.status === 'approved' ? `Granted: ${r.target} at level ${r.level}. ` : `Request ${r.id} is waiting for approval. `),
        el('a', { href: '#/my-access' }, 'Go to My access'));
    }, (e: unknown) => {
      error.textContent = e instanceof ApiError ? e.message : 'the request failed';
      update();
    });
  });
  root.replaceChildren(el('h2', {}, 'Request access'), el('p', {}, el('a', { href: '#/catalog' }, '← Catalog')), form);
}

/** The policy's pattern, as the gateway tests it (a JavaScript RegExp); a pattern the browser cannot read is left to the gateway. */
function ticketMatches(pattern: string, value: string): boolean {
  if (value === '') return false;
  try {
    return new RegExp(pattern).test(value);
  } catch {
    return true;
  }
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
