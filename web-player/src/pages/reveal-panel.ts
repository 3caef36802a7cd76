// The player's "masked input" panel, for admins only: one row per masked span (its marker on the
// seek bar), each with a Reveal button, and one reason field. A click asks the gateway to decrypt
// that span (POST /api/v1/sessions/:id/reveal), which audits `session.revealed` before answering;
// the keystrokes are shown as the server made them visible (control characters escaped, via
// textContent), never written to the terminal, never logged. Investigators do not get the panel,
// and the API refuses them anyway.
import type { MarkerView, RevealedSpan } from '../../../gateway/api-types.js';
import { ApiError, el, fmtTime, type PageApi } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';

export function revealPanel(page: PageLifecycle, api: PageApi, id: string, markers: readonly MarkerView[]): HTMLElement | '' {
  const masked = markers.filter((m) => m.label === 'masked input');
  if (masked.length === 0) return '';
  const reason = el('input', { id: 'reveal-reason', placeholder: 'Reason (goes to the audit log)', size: '40' });
  const rows = masked.map((m, i) => {
    const button = el('button', { class: 'reveal', 'data-t': String(m.t), 'data-span': String(i + 1) }, `Reveal input at ${fmtTime(m.t)} (${m.t.toFixed(1)} s)`);
    const out = el('pre', { class: 'revealed', 'data-span': String(i + 1), hidden: '' });
    page.listen(button, 'click', () => {
      button.setAttribute('disabled', '');
      api.post<RevealedSpan>(`/api/v1/sessions/${id}/reveal`, { at: m.t, channel: 1, ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) }).then((r) => {
        const notes = [r.truncated ? `first ${r.text.length} of ${r.bytes} bytes` : `${r.bytes} bytes`, ...(r.missing.length ? [`pieces ${r.missing.join(', ')} missing`] : [])];
        out.textContent = `${r.visible}\n(${notes.join('; ')}; this reveal is in the audit log)`;
        out.removeAttribute('hidden');
      }, (e: unknown) => {
        out.textContent = e instanceof ApiError ? `${e.message} (${e.code})` : 'reveal failed';
        out.classList.add('error');
        out.removeAttribute('hidden');
      }).finally(() => button.removeAttribute('disabled'));
    });
    return el('li', {}, button, out);
  });
  return el('div', { class: 'reveal-panel', id: 'reveal-panel' },
    el('h3', {}, 'Masked input'),
    el('p', { class: 'meta' }, 'Typed at a password-like prompt; shown as * to viewers. Revealing decrypts it and is audited.'),
    reason, el('ul', {}, ...rows));
}
