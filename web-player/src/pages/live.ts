// Watching a running SSH session: the recording so far, then live output, over a WebSocket; an
// admin can end the session from here. The socket and the terminal belong to the page's lifecycle:
// leaving the page closes the socket (the gateway stops streaming to it) and disposes the terminal.
import { Terminal } from '@xterm/xterm';
import type { LiveFrame } from '../../../gateway/api-types.js';
import { apiFor, ApiError, el, type Me } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';

export function livePage(root: HTMLElement, page: PageLifecycle, id: string, me: Me): void {
  const api = apiFor(page);
  const term = page.own(new Terminal({ cols: 80, rows: 24, disableStdin: true, scrollback: 1000 }));
  const screen = el('div', { id: 'terminal' });
  const status = el('div', { class: 'meta', id: 'live-status' }, 'connecting…');
  const kill = el('button', { class: 'danger', id: 'kill' }, 'Kill session');
  root.replaceChildren(el('h2', {}, `Live: ${id}`), status, screen, me.roles.includes('admin') ? kill : '');
  term.open(screen);
  page.listen(kill, 'click', () => {
    api.post(`/api/v1/sessions/${id}/kill`).then(() => { status.textContent = 'session killed'; },
      (e: unknown) => { status.textContent = e instanceof ApiError ? e.message : 'kill failed'; });
  });
  const ws = page.socket(`wss://${location.host}/api/v1/sessions/${id}/live`);
  ws.onopen = (): void => { status.textContent = 'live'; };
  ws.onclose = (ev): void => { status.textContent = ev.code === 1000 ? 'session ended' : `disconnected (${ev.code})`; };
  ws.onmessage = (m: MessageEvent<string>): void => {
    const msg = JSON.parse(m.data) as LiveFrame;
    if (msg.type === 'header' && msg.header) term.resize(msg.header.width, msg.header.height);
    else if (msg.type === 'event') {
      const [, code, data] = msg.event;
      if (code === 'o') term.write(data);
      else if (code === 'r') { const r = /^(\d+)x(\d+)$/.exec(data); if (r) term.resize(Number(r[1]), Number(r[2])); }
    } else if (msg.type === 'end') status.textContent = 'session ended';
  };
}
