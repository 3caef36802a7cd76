// The vendor's page behind a one-time link (/l/TOKEN): who issued it, for which target, until when,
// and that the session is recorded; one click (the consent) opens a terminal over a WebSocket.
// Reloading within the grace period reconnects to the same session (the gateway knows this browser
// by an HttpOnly cookie). The page never sees a credential: only terminal bytes and notices.
// Mounted with a lifecycle like every page: its socket, terminal and listeners end with it.
import { Terminal } from '@xterm/xterm';
import type { LinkInfo, LinkOpened, TerminalClientMessage, TerminalNotice } from '../../../gateway/api-types.js';
import { apiFor, ApiError, el } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';

/** The gateway takes at most 16 K characters per frame; escapes can grow JSON up to 6x, so 8 K. */
const CHUNK = 8192;
const COLS = 120;
const ROWS = 32;

export async function vendorPage(root: HTMLElement, page: PageLifecycle): Promise<void> {
  const api = apiFor(page);
  const token = location.pathname.slice('/l/'.length);
  let info: LinkInfo;
  try {
    info = await api.post<LinkInfo>('/api/v1/l/info', { token });
  } catch (e) {
    root.replaceChildren(el('div', { class: 'card wide' }, el('h2', {}, 'This link cannot be opened'),
      el('div', { class: 'error', id: 'link-error', role: 'alert' }, e instanceof ApiError ? e.message : 'the gateway could not be reached')));
    return;
  }
  const open = el('button', { id: 'open' }, info.resumable ? 'Reconnect to your session' : 'I agree — open the terminal');
  const error = el('div', { class: 'error', role: 'alert', id: 'link-error' });
  root.replaceChildren(el('div', { class: 'card wide', id: 'link-card' },
    el('h2', {}, `Terminal on ${info.target}`),
    el('p', {}, `${info.issuer} invited you: `, el('strong', { id: 'link-label' }, info.label)),
    el('p', {}, `Usable until ${new Date(info.expires_at).toLocaleString()}; a session lasts at most ${Math.round(info.session_max_s / 60)} minutes.`),
    el('p', { class: 'consent', id: 'consent' }, 'This session is recorded: everything shown on the terminal and everything you type (except what you type at a password prompt) is kept and may be reviewed. Opening the terminal means you agree.'),
    open, error,
    el('details', {}, el('summary', {}, 'Prefer your own SSH client?'),
      el('p', {}, 'Run this instead (it uses up this link the same way):'), el('pre', { id: 'ssh-command' }, info.ssh))));
  page.listen(open, 'click', () => {
    open.disabled = true;
    api.post<LinkOpened>('/api/v1/l/open', { token, cols: COLS, rows: ROWS })
      .then(() => terminalView(root, page, info), (e: unknown) => { open.disabled = false; error.textContent = e instanceof ApiError ? e.message : 'could not open the terminal'; });
  });
  if (info.resumable) open.click();
}

function terminalView(root: HTMLElement, page: PageLifecycle, info: LinkInfo): void {
  const term = page.own(new Terminal({ cols: COLS, rows: ROWS, scrollback: 2000, convertEol: false }));
  const screen = el('div', { id: 'terminal' });
  const status = el('div', { class: 'meta', id: 'vendor-status' }, `Connecting to ${info.target}… (recorded)`);
  const banner = el('div', { class: 'notice', id: 'vendor-notice', role: 'status' });
  root.replaceChildren(el('h2', {}, `${info.target} — ${info.label}`), status, banner, screen);
  term.open(screen);
  term.focus();
  const ws = page.socket(`wss://${location.host}/api/v1/l/terminal`);
  ws.binaryType = 'arraybuffer';
  let ended = false;
  ws.onopen = (): void => { status.textContent = `Connected to ${info.target}. This session is recorded.`; };
  ws.onmessage = (m: MessageEvent<ArrayBuffer | string>): void => {
    if (typeof m.data !== 'string') { term.write(new Uint8Array(m.data)); return; }
    const n = JSON.parse(m.data) as TerminalNotice;
    if (n.type === 'notice') banner.textContent = n.message;
    else if (n.type === 'end') {
      ended = true;
      banner.className = 'error';
      banner.textContent = n.message;
      status.textContent = `Session ended (${n.reason}).`;
      term.options.disableStdin = true;
    } else banner.textContent = `Error: ${n.message}`;
  };
  ws.onclose = (ev): void => {
    if (ended) return;
    status.textContent = ev.code === 4409 ? 'This terminal was opened in another tab.' : `Disconnected${ev.reason ? `: ${ev.reason}` : ''}. Reload the page within 30 seconds to reconnect.`;
    term.options.disableStdin = true;
  };
  term.onData((d) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    for (let i = 0; i < d.length; i += CHUNK) ws.send(JSON.stringify({ type: 'input', data: d.slice(i, i + CHUNK) } satisfies TerminalClientMessage));
  });
}
