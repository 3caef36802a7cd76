// First run: the page behind the one-time setup link (/setup/TOKEN) that `portcullis serve`
// prints while no human admin exists. Step one: a name and a password (twice); step two: scan the
// QR code of a fresh one-time code secret and type a code, which creates the admin and signs this
// browser in. The page keeps the token only in its own address and sends it only to the gateway.
import { apiFor, ApiError, el, type Me } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';

interface SetupStart { state: 'ready'; totp_secret: string; totp_uri: string; totp_qr: string }

export function setupPage(root: HTMLElement, page: PageLifecycle, done: (me: Me) => void): void {
  const http = apiFor(page);
  const token = location.pathname.split('/')[2] ?? '';
  const api = `/api/v1/setup/${encodeURIComponent(token)}`;
  const error = el('div', { class: 'error', role: 'alert', id: 'setup-error' });
  const fail = (e: unknown): void => { error.textContent = e instanceof ApiError ? e.message : 'setup failed'; };
  const title = el('h2', {}, 'Set up Portcullis: the first admin');
  root.replaceChildren(el('div', { class: 'card' }, title, error));

  // The link is checked before anything is typed: an used or expired link says so at once.
  http.get<SetupStart>(api).then(() => stepOne(), (e: unknown) => {
    fail(e);
    if (e instanceof ApiError && e.code === 'conflict') root.append(el('p', {}, el('a', { href: '/' }, 'Sign in')));
  });

  function stepOne(): void {
    const user = el('input', { name: 'user', autocomplete: 'username', value: 'admin' });
    const password = el('input', { name: 'password', type: 'password', autocomplete: 'new-password', minlength: '8' });
    const again = el('input', { name: 'password-again', type: 'password', autocomplete: 'new-password' });
    const form = el('form', { class: 'card', id: 'setup-account' }, title,
      el('p', { class: 'meta' }, 'This link works once, for one hour. The account gets the admin role; sign-ins need the password and a one-time code.'),
      el('label', {}, 'User name', user), el('label', {}, 'Password', password), el('label', {}, 'Password again', again), error,
      el('button', { type: 'submit' }, 'Next: one-time code'));
    page.listen(form, 'submit', (ev) => {
      ev.preventDefault();
      error.textContent = '';
      if (password.value !== again.value) { error.textContent = 'the two passwords differ'; return; }
      if (password.value.length < 8) { error.textContent = 'the password must be at least 8 characters'; return; }
      http.get<SetupStart>(`${api}?user=${encodeURIComponent(user.value)}`).then((s) => stepTwo(user.value, password.value, s), fail);
    });
    root.replaceChildren(form);
  }

  function stepTwo(name: string, password: string, s: SetupStart): void {
    const code = el('input', { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}' });
    const secret = el('code', { id: 'setup-secret' }, s.totp_secret);
    const form = el('form', { class: 'card', id: 'setup-code' }, title,
      el('p', {}, `Scan this with an authenticator app for ${name}, then type the code it shows.`),
      el('img', { src: s.totp_qr, alt: 'QR code of the one-time code secret', id: 'setup-qr', width: '220', height: '220' }),
      el('p', { class: 'meta' }, 'Or type the secret: ', secret),
      el('label', {}, 'One-time code', code), error, el('button', { type: 'submit' }, 'Create the admin'));
    page.listen(form, 'submit', (ev) => {
      ev.preventDefault();
      error.textContent = '';
      http.post<Me>(api, { name, password, totp_secret: s.totp_secret, code: code.value }).then((me) => {
        // The link is spent: leave its address, so a reload does not show it again.
        history.replaceState(null, '', '/#/sessions');
        done(me);
      }, fail);
    });
    root.replaceChildren(form);
  }
}
