// The player's "masked input" panel, for admins only: one row per masked span of the channel (from
// GET /api/v1/sessions/:id/masked, times only), each with a Reveal button, and one reason field. A
// click asks the gateway to decrypt that span (POST /api/v1/sessions/:id/reveal), which audits
// `session.revealed` before answering; the keystrokes are shown as the server made them visible
// (control characters escaped, via textContent), never written to the terminal, never logged.
// Investigators do not get the panel, and the API refuses them anyway.
import type { MaskedSpanList, RevealedSpan } from '../../../gateway/api-types.js';
import { ApiError, el, fmtTime, type PageApi } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';

/** Buttons one page shows; the CLI (`portcullis session reveal ID`) lists and reveals every span. */
const MAX_BUTTONS = 500;

export function revealPanel(page: PageLifecycle, api: PageApi, id: string, channel: number): HTMLElement {
  const panel = el('div', { class: 'reveal-panel', id: 'reveal-panel', hidden: '' });
  api.get<MaskedSpanList>(`/api/v1/sessions/${id}/masked?channel=${channel}`).then((l) => {
    if (l.spans.length === 0) return;
    const reason = el('input', { id: 'reveal-reason', placeholder: 'Reason (goes to the audit log)', size: '40' });
    const rows = l.spans.slice(0, MAX_BUTTONS).map((s) => {
      const button = el('button', { class: 'reveal', 'data-t': String(s.t), 'data-span': String(s.span) }, `Reveal input at ${fmtTime(s.t)} (${s.t.toFixed(1)} s)`);
      const out = el('pre', { class: 'revealed', 'data-span': String(s.span), hidden: '' });
      page.listen(button, 'click', () => reveal(api, id, channel, s.span, reason.value.trim(), button, out));
      return el('li', {}, button, out);
    });
    const more = l.more || l.spans.length > MAX_BUTTONS
      ? el('p', { class: 'meta' }, `Only the first ${rows.length} spans have a button; portcullis session reveal ${id} lists and reveals them all.`) : '';
    panel.replaceChildren(
      el('h3', {}, 'Masked input'),
      el('p', { class: 'meta' }, 'Typed at a password-like prompt; shown as * to viewers. Revealing decrypts it and is audited.'),
      reason, el('ul', {}, ...rows), more);
    panel.removeAttribute('hidden');
  }, () => { /* no panel: the player works without it */ });
  return panel;
}

function reveal(api: PageApi, id: string, channel: number, span: number, reason: string, button: HTMLButtonElement, out: HTMLElement): void {
  button.setAttribute('disabled', '');
  api.post<RevealedSpan>(`/api/v1/sessions/${id}/reveal`, { span, channel, ...(reason ? { reason } : {}) }).then((r) => {
    const notes = [r.truncated ? `first ${r.text.length} of ${r.bytes} bytes` : `${r.bytes} bytes`, ...(r.missing.length ? [`pieces ${r.missing.join(', ')} missing`] : [])];
    out.textContent = `${r.visible}\n(${notes.join('; ')}; this reveal is in the audit log)`;
    out.classList.remove('error');
  }, (e: unknown) => {
    out.textContent = e instanceof ApiError ? `${e.message} (${e.code})` : 'reveal failed';
    out.classList.add('error');
  }).finally(() => {
    out.removeAttribute('hidden');
    button.removeAttribute('disabled');
  });
}
