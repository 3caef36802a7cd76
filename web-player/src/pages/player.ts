// The terminal player: a window of the recording at a time (keyframe + events), play/pause, speed
// 0.25x–16x, skip idle, a seek bar with markers (typed input, masked input, warnings, the cut),
// #t=93.5 links, and keys (space, arrows); for admins, the masked-input panel (reveal-panel.ts). Seeking asks the server for the keyframe at that time,
// so it costs one keyframe interval of replay, never the whole recording. Its playback timer, keys,
// fetches and terminal belong to the page's lifecycle: leaving the player stops playback at once
// (before, a pending step rewrote the hash and dragged the browser back to the player).
import { Terminal } from '@xterm/xterm';
import type { CastEvent, PlayerWindow } from '../../../gateway/api-types.js';
import { apiFor, el, fmtTime, type Me } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';
import { revealPanel } from './reveal-panel.js';

const SPAN = 60;

export async function playerPage(root: HTMLElement, page: PageLifecycle, id: string, startAt: number, me: Me): Promise<void> {
  const api = apiFor(page);
  const first = await api.get<PlayerWindow>(`/api/v1/sessions/${id}/terminal?from=0&span=1&open=1`);
  const term = page.own(new Terminal({ cols: first.header.width, rows: first.header.height, disableStdin: true, convertEol: false, scrollback: 0 }));
  const screen = el('div', { id: 'terminal' });
  const playBtn = el('button', { id: 'play' }, 'Play');
  const speed = el('select', { id: 'speed' }, ...['0.25', '0.5', '1', '2', '4', '8', '16'].map((s) => el('option', s === '1' ? { value: s, selected: '' } : { value: s }, `${s}×`)));
  const skipIdle = el('input', { type: 'checkbox', id: 'skip-idle' });
  // A range input snaps its value to the step grid below `max`: round the end up so it is reachable.
  const end = Math.ceil(first.duration * 10) / 10;
  const seek = el('input', { type: 'range', id: 'seek', min: '0', max: end.toFixed(1), step: '0.1', value: '0' });
  const clock = el('span', { id: 'clock' }, `0:00 / ${fmtTime(first.duration)}`);
  const marks = el('div', { class: 'marks' }, ...first.markers.map((m) => el('div', {
    class: `mark ${m.label === 'masked input' ? 'masked' : m.label.startsWith('cut') ? 'cut' : ''}`,
    style: `left:${first.duration ? (m.t / first.duration) * 100 : 0}%`, title: `${fmtTime(m.t)} ${m.label}`, 'data-label': m.label,
  })));
  root.replaceChildren(el('div', { class: 'player' },
    el('h2', {}, `Session ${id}`), first.truncated ? el('div', { class: 'error' }, 'This recording ends abruptly (the gateway stopped while recording).') : '',
    screen, el('div', { class: 'controls' }, playBtn, speed, el('label', {}, skipIdle, ' skip idle'), el('div', { class: 'seek' }, seek, marks), clock),
    me.roles.includes('admin') ? revealPanel(page, api, id, 1) : ''));
  term.open(screen);

  let pos = 0;
  let queue: CastEvent[] = [];
  let next: number | null = null;
  let timer: number | null = null;
  let playing = false;
  let generation = 0;

  const apply = (e: CastEvent): void => {
    if (e[1] === 'o') term.write(e[2]);
    else if (e[1] === 'r') {
      const m = /^(\d+)x(\d+)$/.exec(e[2]);
      if (m) term.resize(Number(m[1]), Number(m[2]));
    }
  };
  const show = (): void => {
    // Only this page may rewrite the hash, and only while it is shown (timers are gone once left).
    if (!page.alive) return;
    clock.textContent = `${fmtTime(pos)} / ${fmtTime(first.duration)}`;
    seek.value = String(pos);
    location.replace(`#/session/${id}?t=${pos.toFixed(1)}`);
  };

  /** Renders the screen at t from the server's keyframe, and queues what follows. */
  const load = async (t: number): Promise<void> => {
    const g = ++generation;
    const w = await api.get<PlayerWindow>(`/api/v1/sessions/${id}/terminal?from=${t}&span=${SPAN}`);
    if (g !== generation) return;
    term.reset();
    term.resize(w.keyframe.cols, w.keyframe.rows);
    if (w.keyframe.snapshot) term.write(w.keyframe.snapshot);
    for (const e of w.events) if (e[0] <= t) apply(e);
    queue = w.events.filter((e) => e[0] > t);
    next = w.next;
    pos = t;
    await page.guard(new Promise<void>((r) => term.write('', r)));
    show();
  };

  const step = async (): Promise<void> => {
    timer = null;
    if (!playing) return;
    if (queue.length === 0 && next !== null) {
      const w = await api.get<PlayerWindow>(`/api/v1/sessions/${id}/terminal?from=${next}&span=${SPAN}`);
      queue = w.events.filter((e) => e[0] > pos);
      next = w.next;
    }
    const e = queue.shift();
    if (!e) { playing = false; playBtn.textContent = 'Play'; return; }
    const gap = Math.max(0, e[0] - pos);
    const wait = (skipIdle.checked ? Math.min(gap, 0.5) : gap) / Number(speed.value);
    timer = page.setTimeout(() => { apply(e); pos = e[0]; show(); void step(); }, wait * 1000);
  };

  const stop = (): void => { playing = false; page.clearTimeout(timer); timer = null; playBtn.textContent = 'Play'; };
  const start = (): void => { if (playing) return; playing = true; playBtn.textContent = 'Pause'; void step(); };
  const seekTo = async (t: number): Promise<void> => {
    const was = playing;
    stop();
    await load(Math.max(0, Math.min(end, t)));
    if (was) start();
  };

  page.listen(playBtn, 'click', () => (playing ? stop() : start()));
  page.listen(speed, 'change', () => { if (playing) { stop(); start(); } });
  page.listen(seek, 'change', () => { void seekTo(Number(seek.value)); });
  page.listen(document, 'keydown', (ev) => {
    if (ev.target instanceof HTMLInputElement && ev.target.type !== 'range') return;
    if (ev.key === ' ') { ev.preventDefault(); if (playing) stop(); else start(); }
    if (ev.key === 'ArrowRight') void seekTo(pos + 5);
    if (ev.key === 'ArrowLeft') void seekTo(pos - 5);
  });
  await load(startAt);
}
