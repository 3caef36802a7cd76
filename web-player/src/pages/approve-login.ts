// The page that approves a login begun elsewhere (#/approve/ID): `portcullis login --sso`, or an
// SSH login waiting at its keyboard-interactive prompt. It shows what is asked, from which address,
// and the code, so the person approves only the login in front of them: a link someone sent shows
// another code and, usually, another address. Approve or Deny; the gateway decides the rest.
import type { LoginView } from '../../../gateway/api-types.js';
import { apiFor, ApiError, el } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';

export async function approveLoginPage(root: HTMLElement, page: PageLifecycle, id: string): Promise<void> {
  const api = apiFor(page);
  const path = `/api/v1/logins/${encodeURIComponent(id)}`;
  const error = el('div', { class: 'error', role: 'alert' });
  const card = el('div', { class: 'card', 'data-approve-login': id });
  const render = (v: LoginView): void => {
    const what = v.kind === 'cli'
      ? 'the Portcullis CLI'
      : `SSH as ${v.ssh_user ?? '?'}${v.ssh_target ? ` to ${v.ssh_target}` : ''}`;
    const rows: Array<Node | string> = [
      el('h2', {}, 'Approve sign-in'),
      el('p', {}, `Approve sign-in for ${what} from ${v.from}?`),
      el('p', {}, 'Code ', el('strong', { 'data-login-code': '' }, v.code)),
      el('p', { class: 'note' }, 'Approve only if you started this sign-in yourself just now and your terminal shows the same code.'),
    ];
    if (!v.same_address) rows.push(el('p', { class: 'note', 'data-other-address': '' }, `It was begun from ${v.from}, not from the address this browser uses.`));
    if (v.state !== 'pending') {
      rows.push(el('p', { 'data-login-state': v.state }, stateText(v.state)));
      card.replaceChildren(...rows, error);
      return;
    }
    const approve = el('button', { 'data-login-approve': '' }, 'Approve');
    const deny = el('button', { 'data-login-deny': '' }, 'Deny');
    const act = (verb: 'approve' | 'deny'): void => {
      error.textContent = '';
      approve.disabled = true;
      deny.disabled = true;
      api.post<LoginView>(`${path}/${verb}`).then(render, (e: unknown) => {
        error.textContent = e instanceof ApiError ? e.message : 'failed';
        approve.disabled = false;
        deny.disabled = false;
      });
    };
    page.listen(approve, 'click', () => act('approve'));
    page.listen(deny, 'click', () => act('deny'));
    card.replaceChildren(...rows, el('div', {}, approve, ' ', deny), error);
  };
  render(await api.get<LoginView>(path));
  root.replaceChildren(card);
}

function stateText(state: LoginView['state']): string {
  switch (state) {
    case 'approved': return 'Approved: you can go back to your terminal.';
    case 'consumed': return 'Approved and signed in.';
    case 'denied': return 'Denied: that sign-in will not go through.';
    case 'expired': return 'This sign-in expired; begin it again.';
    case 'pending': return '';
  }
}
