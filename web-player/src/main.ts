// The web console: a hash router over a few pages. Signed-in state is the HttpOnly cookie; the page
// only ever holds the CSRF token.
import { api, ApiError, el, type Me } from './api.js';
import { adminPage } from './pages/admin.js';
import { livePage } from './pages/live.js';
import { loginPage } from './pages/login.js';
import { playerPage } from './pages/player.js';
import { requestsPage } from './pages/requests.js';
import { sessionsPage } from './pages/sessions.js';
import { statementsPage } from './pages/statements.js';
import { vendorPage } from './pages/vendor.js';

const app = document.getElementById('app')!;
const nav = document.getElementById('nav')!;
const who = document.getElementById('who')!;
let me: Me | null = null;

function renderNav(): void {
  if (!me) { nav.replaceChildren(); who.textContent = ''; return; }
  const links: Array<[string, string]> = [];
  if (me.roles.some((r) => r === 'admin' || r === 'investigator')) links.push(['#/sessions', 'Sessions']);
  links.push(['#/requests', 'Requests']);
  if (me.roles.includes('admin')) links.push(['#/admin', 'Admin']);
  nav.replaceChildren(...links.map(([href, text]) => el('a', { href }, text)));
  const out = el('a', { href: '#/logout' }, 'Sign out');
  who.replaceChildren(`${me.user} · `, out);
}

async function route(): Promise<void> {
  // A one-time link's page: no account, no navigation.
  if (location.pathname.startsWith('/l/')) return vendorPage(app);
  if (!me) me = await api.me();
  renderNav();
  if (!me) { loginPage(app, (m) => { me = m; location.hash = '#/sessions'; void route(); }); return; }
  const [path = '', query = ''] = location.hash.slice(1).split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean);
  try {
    if (parts[0] === 'logout') { await api.logout(); me = null; location.hash = ''; return void route(); }
    if (parts[0] === 'requests') return await requestsPage(app);
    if (parts[0] === 'admin') return await adminPage(app);
    if (parts[0] === 'live' && parts[1]) return livePage(app, parts[1], me);
    if (parts[0] === 'session' && parts[1]) {
      const detail = await api.get<{ protocol: string; started_at: string }>(`/api/v1/sessions/${parts[1]}`);
      if (detail.protocol === 'ssh') return await playerPage(app, parts[1], Number(params.get('t') ?? 0));
      return await statementsPage(app, parts[1], detail.started_at, params.has('t') ? Number(params.get('t')) : null, params.get('q') ?? '');
    }
    return await sessionsPage(app, me);
  } catch (e) {
    app.replaceChildren(el('div', { class: 'error', role: 'alert' }, e instanceof ApiError ? `${e.message} (${e.code})` : 'something went wrong'));
  }
}

// The player rewrites the hash as it plays; only a change of page re-routes.
let lastPage = '';
window.addEventListener('hashchange', () => {
  const page = location.hash.split('?')[0] ?? '';
  if (page !== lastPage) { lastPage = page; void route(); }
});
lastPage = location.hash.split('?')[0] ?? '';
void route();
