// Pending access requests for approvers: approve, or deny with a reason.
import type { RequestView } from '../../../gateway/api-types.js';
import { apiFor, ApiError, el } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';

export async function requestsPage(root: HTMLElement, page: PageLifecycle): Promise<void> {
  const api = apiFor(page);
  const error = el('div', { class: 'error', role: 'alert' });
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
      return el('tr', { 'data-request': r.id }, el('td', {}, r.user), el('td', {}, r.target), el('td', {}, `${Math.round(r.duration_s / 60)} min`),
        el('td', {}, r.reason), el('td', {}, r.ticket ?? '-'), el('td', {}, r.policy), el('td', {}, r.approvals.join(', ') || '-'),
        el('td', {}, approve, ' ', why, deny));
    }));
  };
  await load();
  root.replaceChildren(el('h2', {}, 'Pending requests'), error,
    el('table', {}, el('thead', {}, el('tr', {}, ...['User', 'Target', 'For', 'Reason', 'Ticket', 'Policy', 'Approved by', ''].map((h) => el('th', {}, h)))), tbody));
}
