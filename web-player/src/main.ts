// The web console: a hash router over a few pages. Signed-in state is the HttpOnly cookie; the page
// only ever holds the CSRF token. Each page is mounted with a fresh PageLifecycle and the router
// disposes it when the page is left, so nothing a left page started (a player's timer, a live
// view's socket, a fetch still in flight) can act afterwards. Pages render; this file only routes.
import { api, apiFor, ApiError, el, type Me } from './api.js';
import type { SessionDetail } from '../../gateway/api-types.js';
import { PageLifecycle } from './lifecycle.js';
import { adminPage } from './pages/admin.js';
import { catalogPage } from './pages/catalog.js';
import { approveLoginPage } from './pages/approve-login.js';
import { livePage } from './pages/live.js';
import { loginPage } from './pages/login.js';
import { myAccessPage } from './pages/my-access.js';
import { passwordPage } from './pages/password.js';
import { playerPage } from './pages/player.js';
import { requestFormPage } from './pages/request-form.js';
import { requestsPage } from './pages/requests.js';
import { rulesPage } from './pages/rules.js';
import { sessionsPage } from './pages/sessions.js';
import { setupPage } from './pages/setup.js';
import { statementsPage } from './pages/statements.js';
import { vendorPage } from './pages/vendor.js';

const app = document.getElementById('app')!;
const nav = document.getElementById('nav')!;
const who = document.getElementById('who')!;
let me: Me | null = null;
let current: PageLifecycle | null = null;

function renderNav(): void {
  if (!me) { nav.replaceChildren(); who.textContent = ''; return; }
  const links: Array<[string, string]> = [['#/my-access', 'My access'], ['#/catalog', 'Catalog']];
  if (me.roles.some((r) => r === 'admin' || r === 'investigator')) links.push(['#/sessions', 'Sessions']);
  links.push(['#/requests', 'Requests']);
  if (me.roles.includes('admin')) links.push(['#/admin', 'Admin'], ['#/rules', 'Rules']);
  links.push(['#/password', 'Password']);
  nav.replaceChildren(...links.map(([href, text]) => el('a', { href }, text)));
  const out = el('a', { href: '#/logout' }, 'Sign out');
  who.replaceChildren(`${me.user} · `, out);
}

/** A hash part as text; one that is not valid percent-encoding is kept as it is (the page then finds nothing by it). */
function decoded(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}

/** Admins and investigators read sessions; everyone else starts on what they hold. */
const seesSessions = (m: Me): boolean => m.roles.some((r) => r === 'admin' || r === 'investigator');
const home = (m: Me): string => (seesSessions(m) ? '#/sessions' : '#/my-access');

/** The page part of a hash ("#/session/ID"), without the query a page may rewrite as it runs. */
const pageOf = (hash: string): string => hash.split('?')[0] ?? '';

async function route(): Promise<void> {
  // Leave the old page before anything of the new one exists.
  current?.dispose();
  const page = new PageLifecycle();
  current = page;
  lastPage = pageOf(location.hash);
  // A one-time link's page: no account, no navigation.
  if (location.pathname.startsWith('/l/')) return vendorPage(app, page);
  // First run: the setup link; when it has signed the new admin in, route again from '/'.
  if (location.pathname.startsWith('/setup/')) return setupPage(app, page, () => { void route(); });
  if (!me) me = await page.guard(api.me());
  renderNav();
  if (!me) {
    loginPage(app, page, (m) => {
      me = m;
      // Where the sign-in was going (a webhook's link to a request), else the user's home page.
      const want = pageOf(location.hash);
      const next = want && want !== '#/' && want !== '#/logout' ? location.hash : home(m);
      if (next === location.hash) void route();
      else location.hash = next;
    });
    return;
  }
  const [path = '', query = ''] = location.hash.slice(1).split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean);
  try {
    if (parts[0] === 'logout') {
      await page.guard(api.logout());
      me = null;
      // The hashchange this causes routes to the sign-in page.
      location.hash = '';
      return;
    }
    if (parts[0] === 'approve' && parts[1]) return await approveLoginPage(app, page, parts[1]);
    if (parts[0] === 'requests') return await requestsPage(app, page, parts[1] ?? null);
    if (parts[0] === 'my-access') return await myAccessPage(app, page);
    if (parts[0] === 'catalog') return await catalogPage(app, page);
    if (parts[0] === 'request' && parts[1]) return await requestFormPage(app, page, decoded(parts[1]), params.get('level'));
    if (parts[0] === 'admin') return await adminPage(app, page);
    if (parts[0] === 'rules') return await rulesPage(app, page);
    if (parts[0] === 'password') return passwordPage(app, page, me);
    if (parts[0] === 'live' && parts[1]) return livePage(app, page, parts[1], me);
    if (parts[0] === 'session' && parts[1]) return await sessionPage(page, parts[1], params, me);
    if (!seesSessions(me)) return await myAccessPage(app, page);
    return await sessionsPage(app, page, me);
  } catch (e) {
    if (page.alive) app.replaceChildren(el('div', { class: 'error', role: 'alert' }, e instanceof ApiError ? `${e.message} (${e.code})` : 'something went wrong'));
  }
}

/** A recorded session: the terminal player for SSH, the statements view for databases. */
async function sessionPage(page: PageLifecycle, id: string, params: URLSearchParams, who: Me): Promise<void> {
  const detail = await apiFor(page).get<SessionDetail>(`/api/v1/sessions/${id}`);
  if (detail.protocol === 'ssh') return playerPage(app, page, id, Number(params.get('t') ?? 0), who);
  return statementsPage(app, page, id, detail.started_at, params.has('t') ? Number(params.get('t')) : null, params.get('q') ?? '', detail.flags);
}

// The player rewrites the hash as it plays (#…?t=12.3); only a change of page re-routes.
let lastPage = pageOf(location.hash);
window.addEventListener('hashchange', () => {
  if (pageOf(location.hash) !== lastPage) void route();
});
void route();
