// Changing one's own password: the current password (and the one-time code when enrolled), the new
// one twice. The gateway ends every other sign-in of the user and hands this browser a new session
// cookie; the page only learns the new CSRF token. Fields are cleared whatever the outcome.
import { api, ApiError, el, type Me } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';

export function passwordPage(root: HTMLElement, page: PageLifecycle, me: Me): void {
  const current = el('input', { name: 'current-password', type: 'password', autocomplete: 'current-password' });
  const fresh = el('input', { name: 'new-password', type: 'password', autocomplete: 'new-password', minlength: '8' });
  const again = el('input', { name: 'repeat-password', type: 'password', autocomplete: 'new-password' });
  const totp = el('input', { name: 'totp', inputmode: 'numeric', autocomplete: 'one-time-code', placeholder: 'only if enrolled' });
  const error = el('div', { class: 'error', role: 'alert' });
  const done = el('div', { class: 'meta', id: 'password-done', role: 'status' });
  const form = el('form', { class: 'card' }, el('h2', {}, `Change the password of ${me.user}`),
    el('label', {}, 'Current password', current), el('label', {}, 'New password', fresh), el('label', {}, 'New password again', again),
    el('label', {}, 'One-time code', totp), error, done, el('button', { type: 'submit' }, 'Change password'));
  page.listen(form, 'submit', (ev) => {
    ev.preventDefault();
    error.textContent = '';
    done.textContent = '';
    if (fresh.value !== again.value) { error.textContent = 'the two new passwords differ'; return; }
    const sent = page.guard(api.changePassword(me.user, current.value, fresh.value, totp.value || undefined));
    for (const f of [current, fresh, again, totp]) f.value = '';
    sent.then((n) => { done.textContent = `Password changed. ${n} sign-in(s) elsewhere ended; this one goes on.`; },
      (e: unknown) => { error.textContent = e instanceof ApiError ? e.message : 'the change failed'; });
  });
  root.replaceChildren(form);
}
