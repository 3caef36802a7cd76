// The admin console: users (disable / enable), targets, policies and active grants (revoke). Only
// admins get here; the API refuses everyone else whatever the page shows. Creating users, targets
// and policies stays in the CLI, where secrets come from stdin rather than a browser form.
import type { GrantView, LinkCreated, LinkView, PolicyView, TargetView, UserView } from '../../../gateway/api-types.js';
import { apiFor, ApiError, el } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';
import { discoverySection } from './discovery-panel.js';

const table = (heads: string[], rows: HTMLElement[]): HTMLTableElement =>
  el('table', {}, el('thead', {}, el('tr', {}, ...heads.map((h) => el('th', {}, h)))), el('tbody', {}, ...rows));
const td = (s: string): HTMLTableCellElement => el('td', {}, s);

export async function adminPage(root: HTMLElement, page: PageLifecycle): Promise<void> {
  const api = apiFor(page);
  const error = el('div', { class: 'error', role: 'alert' });
  const act = (p: Promise<unknown>): void => {
    error.textContent = '';
    p.then(() => adminPage(root, page), (e: unknown) => { error.textContent = e instanceof ApiError ? e.message : 'failed'; });
  };
  const [users, targets, policies, grants, links] = await Promise.all([
    api.get<UserView[]>('/api/v1/users'), api.get<TargetView[]>('/api/v1/targets'),
    api.get<PolicyView[]>('/api/v1/policies'), api.get<GrantView[]>('/api/v1/grants?active=1'), api.get<LinkView[]>('/api/v1/links'),
  ]);
  // One-time vendor links: the URL is shown once, here, right after creation.
  const linkTarget = el('select', { name: 'link-target' }, ...targets.filter((t) => t.kind === 'ssh').map((t) => el('option', { value: t.name }, t.name)));
  const linkTtl = el('input', { name: 'link-ttl', value: '2h', size: '5' });
  const linkLabel = el('input', { name: 'link-label', placeholder: 'who and why, e.g. ACME support, ticket 4411', size: '40' });
  const linkCreate = el('button', { id: 'link-create' }, 'Create link');
  const linkUrl = el('div', { id: 'link-url', class: 'meta' });
  page.listen(linkCreate, 'click', () => {
    error.textContent = '';
    api.post<LinkCreated>('/api/v1/links', { target: linkTarget.value, ttl: linkTtl.value, label: linkLabel.value }).then((l) => {
      linkUrl.replaceChildren('Send this URL to the vendor (shown only now): ', el('code', {}, l.url));
    }, (e: unknown) => { error.textContent = e instanceof ApiError ? e.message : 'failed'; });
  });
  const linkRows = links.map((l) => {
    const revoke = el('button', { class: 'danger', 'data-revoke-link': l.id }, 'Revoke');
    page.listen(revoke, 'click', () => act(api.post(`/api/v1/links/${l.id}/revoke`)));
    return el('tr', { 'data-link': l.id }, td(l.target), td(l.label), td(l.issuer), td(l.status), td(String(l.uses_left)),
      td(new Date(l.expires_at).toLocaleString()), el('td', {}, l.status === 'active' || l.status === 'pending' ? revoke : ''));
  });
  const userRows = users.map((u) => {
    const toggle = el('button', { 'data-toggle-user': u.name, class: u.disabled ? '' : 'danger' }, u.disabled ? 'Enable' : 'Disable');
    page.listen(toggle, 'click', () => act(api.post(`/api/v1/users/${encodeURIComponent(u.name)}/disable`, { disabled: !u.disabled })));
    return el('tr', { 'data-user': u.name }, td(u.name), td(u.kind), td(u.roles.join(', ')), td(u.totp ? 'yes' : 'no'), td(String(u.ssh_keys)),
      td(u.disabled ? 'disabled' : 'active'), el('td', {}, toggle));
  });
  const grantRows = grants.map((g) => {
    const revoke = el('button', { class: 'danger', 'data-revoke': g.id }, 'Revoke');
    page.listen(revoke, 'click', () => act(api.post(`/api/v1/grants/${g.id}/revoke`, { reason: 'revoked from the web console' })));
    return el('tr', { 'data-grant': g.id }, td(g.user), td(g.target), td(g.level), td(g.source), td(new Date(g.expires_at).toLocaleString()), td(g.reason), el('td', {}, revoke));
  });
  const discovery = await discoverySection(page, api, targets, act);
  root.replaceChildren(el('h2', {}, 'Administration'), error,
    el('h3', {}, 'Active grants'), table(['User', 'Target', 'Level', 'Source', 'Expires', 'Reason', ''], grantRows),
    el('h3', {}, 'One-time links'), el('div', { class: 'filters' }, linkTarget, linkTtl, linkLabel, linkCreate), linkUrl,
    table(['Target', 'Label', 'Issuer', 'Status', 'Uses left', 'Expires', ''], linkRows),
    el('h3', {}, 'Users'), table(['Name', 'Kind', 'Roles', 'TOTP', 'SSH keys', 'State', ''], userRows),
    el('h3', {}, 'Targets'), table(['Name', 'Kind', 'Address', 'Account', 'Credential', 'Levels', 'Rotate', 'Tags'],
      targets.map((t) => el('tr', { 'data-target': t.name }, td(t.name), td(t.kind), td(`${t.host}:${t.port}`), td(t.account),
        td(t.credential_mode), td(t.levels.map((l) => `${l.name}=${l.grants.join(',')}`).join(' ')), td(t.rotate), td(t.tags.join(', '))))),
    el('h3', {}, 'Policies'), table(['Name', 'Roles', 'Targets', 'Levels', 'Max', 'Approvals', 'Break-glass'],
      policies.map((p) => el('tr', { 'data-policy': p.name }, td(p.name), td(p.roles.join(', ')), td([...p.targets, ...p.target_tags.map((x) => `tag:${x}`)].join(', ')),
        td(p.levels.join(', ') || 'all'), td(`${Math.round(p.max_duration_s / 60)} min`), td(String(p.approvals_required)), td(p.breakglass ? 'yes' : 'no')))),
    ...discovery);
}
