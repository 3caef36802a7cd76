// The catalog: every (target, level) the signed-in user may request, with the longest duration, how
// it is approved, whether a ticket is needed and when the access may be used. Filters by text (name
// or tag), kind, and "granted at once". Each row opens the request form for it. The API builds the
// list from the same policy matching a request goes through; this page only shows and filters it.
import type { CatalogEntryView } from '../../../gateway/api-types.js';
import { apiFor, el } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';
import { approvalText, duration, ticketText, windowText } from './access-words.js';

export async function catalogPage(root: HTMLElement, page: PageLifecycle): Promise<void> {
  const entries = await apiFor(page).get<CatalogEntryView[]>('/api/v1/catalog');
  const text = el('input', { name: 'catalog-filter', placeholder: 'target or tag', type: 'search' });
  const kinds = [...new Set(entries.map((e) => e.kind))].sort();
  const kind = el('select', { name: 'catalog-kind' }, el('option', { value: '' }, 'any kind'), ...kinds.map((k) => el('option', { value: k }, k)));
  const quick = el('input', { type: 'checkbox', name: 'catalog-auto' });
  const tbody = el('tbody');
  const empty = el('p', { class: 'note' });
  const render = (): void => {
    const q = text.value.trim().toLowerCase();
    const shown = entries.filter((e) => (!q || e.target.toLowerCase().includes(q) || e.tags.some((t) => t.toLowerCase().includes(q)))
      && (!kind.value || e.kind === kind.value) && (!quick.checked || e.policies.some((p) => p.auto_now)));
    tbody.replaceChildren(...shown.map(row));
    empty.textContent = entries.length === 0 ? 'No policy lets you request access yet; ask a Portcullis admin.'
      : shown.length === 0 ? 'Nothing matches these filters.' : '';
  };
  page.listen(text, 'input', render);
  page.listen(kind, 'change', render);
  page.listen(quick, 'change', render);
  render();
  root.replaceChildren(el('h2', {}, 'Catalog: what you may request'),
    el('div', { class: 'filters' }, text, kind, el('label', {}, quick, ' granted at once')),
    el('table', { class: 'catalog' }, el('thead', {}, el('tr', {}, ...['Target', 'Kind', 'Tags', 'Level', 'At most', 'Approval', 'Ticket', 'Usable', ''].map((h) => el('th', {}, h)))), tbody),
    empty);
}

/** One entry; the first policy is the one a short request stands on (the API lists them in a request's order). */
function row(e: CatalogEntryView): HTMLElement {
  const first = e.policies[0];
  const approval = e.policies.length === 1 || !first ? (first ? approvalText(first) : '')
    : e.policies.map((p) => `up to ${duration(p.max_duration_s)}: ${approvalText(p)}`).join('; ');
  const href = `#/request/${encodeURIComponent(e.target)}?level=${encodeURIComponent(e.level)}`;
  return el('tr', { 'data-catalog': `${e.target}/${e.level}` },
    el('td', {}, e.target), el('td', {}, e.kind), el('td', {}, e.tags.join(', ') || '-'), el('td', {}, e.level),
    el('td', {}, duration(e.max_duration_s)), el('td', {}, approval), el('td', {}, first ? ticketText(first) : ''),
    el('td', {}, [...new Set(e.policies.map((p) => windowText(p.window)))].join('; ')),
    el('td', {}, el('a', { href, 'data-request-link': `${e.target}/${e.level}` }, 'Request')));
}
