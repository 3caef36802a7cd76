// The sign-in form (password, and the one-time code for TOTP users), and "Sign in with single
// sign-on" when the gateway has an identity provider: a plain navigation to /api/v1/sso/start, so
// the provider's pages run in the top window. With local passwords off the password form stays, one
// step down, for the break-glass admins. The page holds no secret after a sign-in: the gateway
// answers with an HttpOnly cookie and the CSRF token.
import { api, ApiError, apiFor, el, type Me } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';

interface SsoInfo { enabled: boolean; label: string | null; local_passwords: boolean }

export function loginPage(root: HTMLElement, page: PageLifecycle, done: (me: Me) => void): void {
  const user = el('input', { name: 'user', autocomplete: 'username' });
  const password = el('input', { name: 'password', type: 'password', autocomplete: 'current-password' });
  const totp = el('input', { name: 'totp', inputmode: 'numeric', autocomplete: 'one-time-code', placeholder: 'only if enrolled' });
  const error = el('div', { class: 'error', role: 'alert' });
  const form = el('form', { class: 'card' }, el('h2', {}, 'Sign in'),
    el('label', {}, 'User', user), el('label', {}, 'Password', password), el('label', {}, 'One-time code', totp), error,
    el('button', { type: 'submit' }, 'Sign in'));
  page.listen(form, 'submit', (ev) => {
    ev.preventDefault();
    error.textContent = '';
    page.guard(api.login(user.value, password.value, totp.value || undefined)).then(done, (e: unknown) => {
      error.textContent = e instanceof ApiError ? e.message : 'sign-in failed';
    });
  });
  root.replaceChildren(form);
  apiFor(page).get<SsoInfo>('/api/v1/sso').then((info) => {
    if (!info.enabled || !page.alive) return;
    // Back to the page the person was on (the hash route) once signed in.
    const back = encodeURIComponent('/' + (location.hash || '#/sessions'));
    const sso = el('a', { class: 'button sso', href: `/api/v1/sso/start?return_to=${back}`, id: 'sso-sign-in' }, `Sign in with ${info.label ?? 'single sign-on'}`);
    const card = el('div', { class: 'card' }, el('h2', {}, 'Sign in'), sso);
    if (info.local_passwords) {
      root.replaceChildren(card, form);
    } else {
      const summary = el('summary', {}, 'Administrator sign-in with a password (break-glass)');
      root.replaceChildren(card, el('details', {}, summary, form));
    }
  }, () => undefined);
}
