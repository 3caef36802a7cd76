// Pending access requests for approvers: approve, or deny with a reason. Above them, a form to
// request access: the level select is filled from the chosen target's levels (least privileged first).
// `#/requests/ID` (the link in a pending request's webhook) marks that request and scrolls to it, or
// says what became of it when it is no longer pending.
import type { RequestView, TargetSummaryView, TargetView } from '../../../gateway/api-types.js';
import { apiFor, ApiError, el } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';

export async function requestsPage(root: HTMLElement, page: PageLifecycle, focus: string | null = null): Promise<void> {
  const api = apiFor(page);
  const error = el('div', { class: 'error', role: 'alert' });
  const focusNote = el('div', { class: 'notice', role: 'status' });
  const tbody = el('tbody');
  const load = async (): Promise<void> => {
    const list = await api.get<RequestView[]>('/api/v1/requests?pending=1');
    tbody.replaceChildren(...list.map((r) => {
      const approve = el('button', { 'data-approve': r.id }, 'Approve');
      const why = el('input', { placeholder: 'reason to deny', 'data-deny-reason': r.id });
      const deny = el('button', { 'data-deny': r.id }, 'Deny');
      const act = (p: Promise<unknown>): void => { error.textContent = ''; p.then(() => load(), (e: unknown) => { error.textContent = e instanceof ApiError ? e.message : 'failed'; }); };
      page.listen(approve, 'click', () => act(api.post(`/api/v1/requests/${r.id}/approve`)));
      page.listen(deny, 'click', () => act(api.post(`/api/v1/requests/${r.id}/deny`, { reason: why.value })));
      return el('tr', { 'data-request': r.id, ...(r.id === focus ? { class: 'at' } : {}) }, el('td', {}, r.user), el('td', {}, r.target), el('td', {}, r.level), el('td', {}, `${Math.round(r.duration_s / 60)} min`),
        el('td', {}, r.reason), el('td', {}, r.ticket ?? '-'), el('td', {}, r.policy), el('td', {}, r.approvals.join(', ') || '-'),
        el('td', {}, approve, ' ', why, deny));
    }));
  };
  await load();
  const form = await requestForm(page, api, error);
  root.replaceChildren(el('h2', {}, 'Request access'), form, el('h2', {}, 'Pending requests'), focusNote, error,
    el('table', {}, el('thead', {}, el('tr', {}, ...['User', 'Target', 'Level', 'For', 'Reason', 'Ticket', 'Policy', 'Approved by', ''].map((h) => el('th', {}, h)))), tbody));
  // After it is on the page: a row can only be scrolled to once it is in the document.
  if (focus) await showFocus(api, focus, tbody, focusNote);
}

/** The linked request: scrolled to when pending, else what became of it (or that it is not one this user may see). */
async function showFocus(api: ReturnType<typeof apiFor>, id: string, tbody: HTMLElement, note: HTMLElement): Promise<void> {
  const row = [...tbody.querySelectorAll('tr')].find((tr) => tr.getAttribute('data-request') === id);
  if (row) { row.scrollIntoView({ block: 'center' }); return; }
  const all = await api.get<RequestView[]>('/api/v1/requests');
  const r = all.find((x) => x.id === id);
  note.textContent = r ? `Request ${r.id} by ${r.user} for ${r.target} is ${r.status}${r.decided_by ? ` (decided by ${r.decided_by})` : ''}.` : `No request ${id} that you can see.`;
}

/** Target, level (from the target's levels), duration, reason, ticket; the API decides and words refusals. */
async function requestForm(page: PageLifecycle, api: ReturnType<typeof apiFor>, error: HTMLElement): Promise<HTMLElement> {
  const targets = await api.get<Array<TargetView | TargetSummaryView>>('/api/v1/targets');
  const levelsOf = (t: TargetView | TargetSummaryView | undefined): string[] =>
    !t ? [] : t.levels.map((l: string | { name: string }) => (typeof l === 'string' ? l : l.name));
  const target = el('select', { name: 'request-target' }, ...targets.map((t) => el('option', { value: t.name }, t.name)));
  const level = el('select', { name: 'request-level' });
  const fillLevels = (): void => {
    level.replaceChildren(...levelsOf(targets.find((t) => t.name === target.value)).map((l) => el('option', { value: l }, l)));
  };
  fillLevels();
  page.listen(target, 'change', fillLevels);
  const dur = el('input', { name: 'request-for', value: '30m', size: '5' });
  const reason = el('input', { name: 'request-reason', placeholder: 'reason' });
  const ticket = el('input', { name: 'request-ticket', placeholder: 'ticket (optional)' });
  const done = el('span', { class: 'note' });
  const submit = el('button', { 'data-request-submit': '' }, 'Request');
  page.listen(submit, 'click', () => {
    error.textContent = '';
    done.textContent = '';
    api.post<RequestView>('/api/v1/requests', { target: target.value, level: level.value, for: dur.value, reason: reason.value, ticket: ticket.value || undefined })
      .then((r) => { done.textContent = r.status === 'approved' ? `approved: grant ${r.grant ?? ''} at level ${r.level}` : `request ${r.id} is pending approval`; },
        (e: unknown) => { error.textContent = e instanceof ApiError ? e.message : 'request failed'; });
  });
  return el('div', { class: 'filters' }, target, level, dur, reason, ticket, submit, done);
}
