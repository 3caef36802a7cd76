// Live and past sessions, filterable; a row opens the player (or the live view for running SSH).
import type { SearchHit, SessionView } from '../../../gateway/api-types.js';
import { apiFor, ApiError, el, type Me } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';

const PAGE = 100;

export async function sessionsPage(root: HTMLElement, page: PageLifecycle, me: Me): Promise<void> {
  const api = apiFor(page);
  const f = { user: el('input', { placeholder: 'user', name: 'user' }), target: el('input', { placeholder: 'target', name: 'target' }),
    protocol: el('select', { name: 'protocol' }, el('option', { value: '' }, 'any protocol'), el('option', {}, 'ssh'), el('option', {}, 'postgres'), el('option', {}, 'mysql')),
    reason: el('select', { name: 'reason' }, ...['', 'closed-by-client', 'grant-expired', 'window-closed', 'grant-revoked', 'user-disabled', 'user-removed', 'target-removed', 'target-changed', 'policy-removed', 'policy-narrowed', 'killed-by-admin', 'upstream-closed', 'recording-failed', 'recording-budget', 'gateway-shutdown', 'gateway-crashed', 'protocol-error', 'upstream-failed', 'idle-timeout', 'breakglass-denied', 'max-session-length', 'credential-failed', 'adapter-error', 'input-cap-exceeded', 'statement-too-large']
      .map((r) => el('option', { value: r }, r || 'any end'))),
    since: el('input', { type: 'date', name: 'since' }),
    // Risk (gateway/risk/): flagged sessions only, a minimum score, and the riskiest first.
    flagged: el('input', { type: 'checkbox', name: 'flagged', id: 'flagged', title: 'flagged only' }),
    minScore: el('input', { type: 'number', min: '0', placeholder: 'min score', name: 'min_score', size: '6' }),
    order: el('select', { name: 'order' }, el('option', { value: 'started' }, 'newest first'), el('option', { value: 'score' }, 'highest score first')) };
  const tbody = el('tbody');
  const error = el('div', { class: 'error' });
  const more = el('button', { id: 'more' }, 'Older sessions');
  let rows: SessionView[] = [];

  // Filters and paging run on the server (keyset by start time), so 10,000 sessions cost one page.
  const query = (before?: string): string => {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (f.user.value) q.set('user', f.user.value);
    if (f.target.value) q.set('target', f.target.value);
    if (f.protocol.value) q.set('protocol', f.protocol.value);
    if (f.reason.value) q.set('reason', f.reason.value);
    if (f.since.value) q.set('since', f.since.value);
    if (f.flagged.checked) q.set('flagged', '1');
    if (/^\d{1,9}$/.test(f.minScore.value)) q.set('min_score', f.minScore.value);
    if (f.order.value === 'score') q.set('order', 'score');
    if (before) q.set('before', before);
    return `/api/v1/sessions?${q.toString()}`;
  };
  const render = (): void => {
    tbody.replaceChildren(...rows.map((r) => {
      const open = r.live && r.protocol === 'ssh' ? `#/live/${r.id}` : `#/session/${r.id}`;
      const actions = el('td');
      if (r.live && me.roles.includes('admin')) {
        const kill = el('button', { class: 'danger', 'data-kill': r.id }, 'Kill');
        page.listen(kill, 'click', () => {
          api.post(`/api/v1/sessions/${r.id}/kill`).then(() => { r.live = false; r.end_reason = 'killed-by-admin'; render(); },
            (e: unknown) => { error.textContent = e instanceof ApiError ? e.message : 'kill failed'; });
        });
        actions.append(kill);
      }
      return el('tr', { class: r.live ? 'live' : '', 'data-session': r.id },
        el('td', {}, el('a', { href: open }, r.id)), el('td', {}, r.protocol), el('td', {}, r.user ?? '-'), el('td', {}, r.target),
        el('td', {}, r.level ?? '-'), el('td', {}, new Date(r.started_at).toLocaleString()), el('td', {}, r.end_reason ?? 'live'),
        el('td', { class: 'risk', 'data-score': String(r.risk_score) }, r.risk_score > 0 ? String(r.risk_score) : '',
          ...r.flags.map((fl) => el('span', { class: `badge flag-${fl.kind}`, title: `${fl.detail} (+${fl.weight})` }, fl.kind))),
        actions);
    }));
  };
  const load = async (append: boolean): Promise<void> => {
    const batch = await api.get<SessionView[]>(query(append ? rows[rows.length - 1]?.id : undefined));
    rows = append ? [...rows, ...batch] : batch;
    // Paging is by start time; sorted by score the first page is the riskiest PAGE sessions.
    more.hidden = batch.length < PAGE || f.order.value === 'score';
    render();
  };
  let filterTimer: number | null = null;
  for (const input of Object.values(f)) {
    page.listen(input, input === f.flagged ? 'change' : 'input', () => {
      page.clearTimeout(filterTimer);
      filterTimer = page.setTimeout(() => { void load(false); }, 250);
    });
  }
  page.listen(more, 'click', () => { void load(true); });
  await load(false);
  // Full-text search over typed commands, output and SQL; a hit opens the session at that moment
  // (a terminal just after it, so the line is on screen; statements at it, with the query to pick
  // the statement among those in the same tenth of a second).
  const hitLink = (h: SearchHit, q: string): string => h.kind === 'sql'
    ? `#/session/${h.session}?t=${h.t.toFixed(1)}&q=${encodeURIComponent(q)}`
    : `#/session/${h.session}?t=${Math.max(0, h.t + 0.5).toFixed(1)}`;
  const search = el('input', { placeholder: 'search what was typed, shown or run', id: 'search', size: '40' });
  const hits = el('ul', { id: 'hits' });
  let pending: number | null = null;
  page.listen(search, 'input', () => {
    page.clearTimeout(pending);
    pending = page.setTimeout(() => {
      if (!search.value.trim()) { hits.replaceChildren(); return; }
      api.get<SearchHit[]>(`/api/v1/search?q=${encodeURIComponent(search.value)}`).then((list) => {
        hits.replaceChildren(...list.map((h) => el('li', {}, el('a', { href: hitLink(h, search.value), 'data-hit': h.session },
          `${h.user ?? '-'} → ${h.target ?? '-'} at ${h.t.toFixed(1)} s (${h.kind}): `), el('code', {}, h.text))));
      }, (e: unknown) => { error.textContent = e instanceof ApiError ? e.message : 'search failed'; });
    }, 250);
  });
  root.replaceChildren(el('h2', {}, 'Sessions'), el('div', { class: 'filters' }, search), hits, el('div', { class: 'filters' }, ...Object.values(f).map((i) => (i === f.flagged ? el('label', {}, i, ' flagged only') : i))), error,
    el('table', {}, el('thead', {}, el('tr', {}, ...['Session', 'Protocol', 'User', 'Target', 'Level', 'Started', 'Ended', 'Risk', ''].map((h) => el('th', {}, h)))), tbody), more);
}
