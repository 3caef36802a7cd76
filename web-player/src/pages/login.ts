// The sign-in form (password, and the one-time code for TOTP users). The page holds no secret after
// it: the gateway answers with an HttpOnly cookie and the CSRF token.
import { api, ApiError, el, type Me } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';

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
}
