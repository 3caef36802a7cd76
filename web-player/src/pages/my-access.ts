// "My access": the signed-in user's active grants with a live countdown, the exact line to connect
// (with a copy button) and where its password comes from; asking for more time (an extension is
// another approval, so it is a new request) and giving a grant back (after a confirm); pending
// requests with who must approve; recent sessions. The countdown and the refresh are timers of the
// page's lifecycle, so they stop when the page is left. Everything from the server goes in as text.
import type { MyAccessView, MyGrantView, MyPendingRequestView, SessionView } from '../../../gateway/api-types.js';
import { apiFor, ApiError, el } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';
import { countdown, duration } from './access-words.js';

/** How often the lists are read again (an approval or a revoke elsewhere shows up within this). */
const REFRESH_MS = 5_000;

export async function myAccessPage(root: HTMLElement, page: PageLifecycle): Promise<void> {
  const api = apiFor(page);
  const error = el('div', { class: 'error', role: 'alert' });
  const notice = el('div', { class: 'notice', role: 'status' });
  const grants = el('div', { class: 'grants' });
  const pending = el('tbody');
  const sessions = el('tbody');
  // Countdowns run on this browser's clock from the server's seconds_left at the last read: a
  // browser clock set wrong cannot show time that is not there.
  let ends: Array<{ at: number; out: HTMLElement }> = [];
  let refreshing = false;

  const load = async (): Promise<void> => {
    const v = await api.get<MyAccessView>('/api/v1/me/access');
    const readAt = performance.now();
    ends = [];
    grants.replaceChildren(...(v.grants.length === 0 ? [el('p', { class: 'note' }, 'You hold no access right now. ', el('a', { href: '#/catalog' }, 'Request some.'))]
      : v.grants.map((g) => grantCard(g, readAt))));
    pending.replaceChildren(...(v.pending.length ? v.pending.map(pendingRow) : [none(7, 'No request of yours is waiting.')]));
    sessions.replaceChildren(...(v.sessions.length ? v.sessions.map(sessionRow) : [none(6, 'No sessions yet.')]));
    tick();
  };
  const tick = (): void => {
    let ended = false;
    for (const e of ends) {
      const left = (e.at - performance.now()) / 1000;
      e.out.textContent = left > 0 ? countdown(left) : 'ended';
      if (left <= 0) ended = true;
    }
    if (ended) refresh();
  };
  const refresh = (): void => {
    if (refreshing) return;
    refreshing = true;
    load().catch((e: unknown) => { error.textContent = e instanceof ApiError ? e.message : 'could not read your access'; })
      .finally(() => { refreshing = false; });
  };

  function grantCard(g: MyGrantView, readAt: number): HTMLElement {
    const left = el('span', { class: 'countdown', 'data-countdown': g.id });
    ends.push({ at: readAt + g.seconds_left * 1000, out: left });
    const line = el('code', { 'data-connect': g.id }, g.connect.command);
    const copy = el('button', { type: 'button', 'data-copy': g.id }, 'Copy');
    page.listen(copy, 'click', () => {
      page.guard(navigator.clipboard.writeText(g.connect.command)).then(() => { copy.textContent = 'Copied'; }, () => { copy.textContent = 'Select and copy'; });
    });
    const more = el('a', { href: `#/request/${encodeURIComponent(g.target)}?level=${encodeURIComponent(g.level)}`, 'data-extend': g.id }, 'Ask for more time');
    const giveBack = el('button', { type: 'button', class: 'danger', 'data-give-back': g.id }, 'Give back');
    const confirm = el('span', { class: 'confirm' });
    page.listen(giveBack, 'click', () => {
      const yes = el('button', { type: 'button', class: 'danger', 'data-give-back-confirm': g.id }, 'Yes, end it now');
      const no = el('button', { type: 'button' }, 'Keep it');
      page.listen(yes, 'click', () => {
        yes.disabled = true;
        api.post(`/api/v1/grants/${encodeURIComponent(g.id)}/give-back`).then(() => {
          notice.textContent = `You gave back your access to ${g.target}; its sessions were ended.`;
          refresh();
        }, (e: unknown) => { error.textContent = e instanceof ApiError ? e.message : 'could not give it back'; yes.disabled = false; });
      });
      page.listen(no, 'click', () => confirm.replaceChildren());
      confirm.replaceChildren(` End your access to ${g.target} now? Open sessions are cut. `, yes, ' ', no);
    });
    const extendNote = `More time is another approval (by ${g.extend.approver_roles.join(' or ')}${g.extend.max_s !== null ? `, at most ${duration(g.extend.max_s)}` : ''}): `;
    return el('section', { class: 'grant card wide', 'data-grant': g.id },
      el('h3', {}, `${g.target}`, el('span', { class: 'note' }, ` ${g.kind}, level ${g.level}`)),
      el('div', {}, 'Time left: ', left, el('span', { class: 'note' }, ` (until ${new Date(g.expires_at).toLocaleString()})`)),
      el('div', { class: 'connect' }, line, ' ', copy),
      el('div', { class: 'note' }, `Password: ${g.connect.password}`),
      el('div', {}, extendNote, more),
      el('div', {}, giveBack, confirm));
  }

  await load();
  page.setInterval(tick, 1000);
  page.setInterval(refresh, REFRESH_MS);
  root.replaceChildren(el('h2', {}, 'My access'), error, notice, grants,
    el('h2', {}, 'Waiting for approval'),
    el('table', {}, el('thead', {}, el('tr', {}, ...['Target', 'Level', 'For', 'Reason', 'Asked', 'Must approve', 'Approved by'].map((h) => el('th', {}, h)))), pending),
    el('h2', {}, 'My recent sessions'),
    el('table', {}, el('thead', {}, el('tr', {}, ...['Started', 'Target', 'Protocol', 'Level', 'Ended', 'Why'].map((h) => el('th', {}, h)))), sessions));
}

const none = (cols: number, text: string): HTMLElement => el('tr', { class: 'none' }, el('td', { colspan: String(cols), class: 'note' }, text));

function pendingRow(r: MyPendingRequestView): HTMLElement {
  const who = `${r.approvers.needed} more from ${r.approvers.roles.join(' or ') || 'an admin'}${r.approvers.names.length ? ` (e.g. ${r.approvers.names.join(', ')})` : ''}`;
  return el('tr', { 'data-pending': r.id }, el('td', {}, r.target), el('td', {}, r.level), el('td', {}, duration(r.duration_s)), el('td', {}, r.reason),
    el('td', {}, new Date(r.created_at).toLocaleString()), el('td', {}, who), el('td', {}, r.approvals.join(', ') || '-'));
}

function sessionRow(s: SessionView): HTMLElement {
  return el('tr', { 'data-session': s.id, ...(s.live ? { class: 'live' } : {}) }, el('td', {}, new Date(s.started_at).toLocaleString()), el('td', {}, s.target),
    el('td', {}, s.protocol), el('td', {}, s.level ?? '-'), el('td', {}, s.ended_at ? new Date(s.ended_at).toLocaleString() : 'live'), el('td', {}, s.end_reason ?? ''));
}
