// The admin page's discovery section: what discovery found on each target (GET /api/v1/discovery),
// unmanaged accounts first and highlighted (standing accounts to remove), and a "Discover now"
// button per target (POST /api/v1/targets/:name/discover). The API allows both to admins only.
// Account names come from the targets: they are only ever set as text, never as markup.
import type { DiscoveryFindingView, TargetView } from '../../../gateway/api-types.js';
import { el, type PageApi } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';

const when = (iso: string | null): string => (iso === null ? '' : new Date(iso).toLocaleString());

/** The section's elements; `act` runs a change and re-renders the page (or shows its error). */
export async function discoverySection(page: PageLifecycle, api: PageApi, targets: TargetView[], act: (p: Promise<unknown>) => void): Promise<HTMLElement[]> {
  const findings = await api.get<DiscoveryFindingView[]>('/api/v1/discovery');
  const order = (f: DiscoveryFindingView): number => (f.gone_at !== null ? 2 : f.managed ? 1 : 0);
  const sorted = [...findings].sort((a, b) => order(a) - order(b) || a.target.localeCompare(b.target) || a.account.localeCompare(b.account));
  const rows = sorted.map((f) => {
    const cls = f.gone_at !== null ? 'gone' : f.managed ? 'managed' : 'unmanaged';
    const managed = f.managed ? `yes: ${f.managed_as ?? ''}` : `NO${f.managed_as ? `: ${f.managed_as}` : ''}`;
    return el('tr', { class: cls, 'data-finding': `${f.target}/${f.account}` },
      el('td', {}, f.target), el('td', {}, f.account), el('td', {}, f.privileges.join(', ')), el('td', {}, managed),
      el('td', {}, when(f.first_seen_at)), el('td', {}, f.gone_at !== null ? `gone since ${when(f.gone_at)}` : when(f.last_seen_at)));
  });
  const buttons = targets.map((t) => {
    const b = el('button', { 'data-discover': t.name }, `Discover now: ${t.name}`);
    page.listen(b, 'click', () => {
      b.setAttribute('disabled', '');
      const run = api.post(`/api/v1/targets/${encodeURIComponent(t.name)}/discover`);
      // A failed run leaves the page as it is (the error shows above it): the button works again.
      run.catch(() => b.removeAttribute('disabled'));
      act(run);
    });
    return b;
  });
  const unmanaged = findings.filter((f) => !f.managed && f.gone_at === null).length;
  return [
    el('h3', {}, 'Privileged accounts on targets'),
    el('div', { class: 'meta', id: 'discovery-summary' }, unmanaged === 0
      ? 'No unmanaged privileged account found.'
      : `${unmanaged} privileged account(s) not managed by Portcullis: standing accounts to remove or bring under management.`),
    el('div', { class: 'filters' }, ...buttons),
    el('table', { id: 'discovery' },
      el('thead', {}, el('tr', {}, ...['Target', 'Account', 'Privileges', 'Managed', 'First seen', 'Last seen'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows)),
  ];
}
