// The live view of a session that runs on another gateway node: streamed from its recording files
// in the shared recordings directory (every node mounts the same `recordings.dir`), which the owner
// flushes at least twice a second (recorder/file-sink.ts). Each cast file is tailed from its start
// (the catch-up) and then polled every POLL_MS for what was appended; a line still being written is
// held back until whole (recorder/cast-tail.ts). Channels opened later are picked up as their files
// appear. The session record says when it ended: then the rest is read, and the viewer is told.
// Why files and not a node-to-node connection: it needs no extra port between nodes and no node
// certificates or trust between them, and it works through the shared storage the cluster needs
// anyway for recordings; the price is latency of about the poll interval, fine for watching.
// Same rules as the local view (live-view.ts): sealed masked input never reaches a viewer, a viewer
// that falls behind is disconnected, and the viewer's token is checked again every few seconds.
import type { WebSocket } from 'ws';
import { displayFor } from '../../recorder/cast-display.js';
import type { CastEvent } from '../../recorder/asciicast-reader.js';
import { CastTail } from '../../recorder/cast-tail.js';
import { RecordingLayout } from '../../recorder/layout.js';
import { SEALED_INPUT } from '../../recorder/masked-spans.js';
import type { LiveFrame } from '../api-types.js';
import type { ApiServices } from './api-services.js';
import { allowed } from './router.js';

export const REMOTE_LIVE = {
  /** How often the files are read for new lines. */
  pollMs: 250,
  /** Every this many polls: new channels and the session record (ended?) are checked. */
  checkEvery: 4,
  /** Every this many polls: the viewer's token is checked again. */
  recheckEvery: 20,
} as const;

const MAX_BUFFERED = 8 * 1024 * 1024;

interface Followed { tail: CastTail; show: (e: CastEvent) => CastEvent }

export function streamRemote(ws: WebSocket, app: ApiServices, id: string, token: string): void {
  const layout = RecordingLayout.of(app.paths.recordings, id);
  const followed = new Map<number, Followed>();
  let ticks = 0;
  let busy = false;
  let done = false;
  const open = (): boolean => ws.readyState === ws.OPEN;
  const send = (msg: LiveFrame): void => {
    if (!open()) return;
    if (ws.bufferedAmount > MAX_BUFFERED) { ws.close(1013, 'viewer too slow'); return; }
    ws.send(JSON.stringify(msg));
  };
  const finish = (code: number, why: string, frame?: LiveFrame): void => {
    done = true;
    clearInterval(timer);
    if (frame) send(frame);
    if (open()) ws.close(code, why);
  };

  const discover = (): void => {
    for (const ch of layout.castChannels()) if (!followed.has(ch)) followed.set(ch, { tail: new CastTail(layout.cast(ch)), show: (e) => e });
  };

  /** Reads every followed file to its current end (as far as the viewer keeps up). */
  const drain = async (): Promise<void> => {
    for (const [channel, f] of followed) {
      for (;;) {
        const r = await f.tail.read();
        if (r.header) {
          const display = displayFor(r.header);
          f.show = display;
          send({ type: 'header', channel, header: r.header });
        }
        for (const e of r.events) if (e[1] !== SEALED_INPUT) send({ type: 'event', channel, event: f.show(e) });
        if (!r.more || !open()) break;
        while (ws.bufferedAmount > MAX_BUFFERED / 2 && open()) await new Promise((res) => setTimeout(res, 20));
      }
    }
  };

  const ended = async (): Promise<boolean> => {
    try {
      const s = await app.sessions.get(id);
      return !s || s.ended_at !== null;
    } catch {
      return false; // the store is away: keep streaming what the files hold
    }
  };

  const tick = async (): Promise<void> => {
    const n = ticks++;
    if (n % REMOTE_LIVE.checkEvery === 0) {
      discover();
      if (await ended()) {
        discover();
        await drain();
        finish(1000, 'session ended', { type: 'end' });
        return;
      }
    }
    await drain();
    if (n > 0 && n % REMOTE_LIVE.recheckEvery === 0) {
      const u = await app.authn.byToken(token).catch(() => undefined);
      if (!u || !allowed(['investigator'], u)) {
        app.log.info({ session: id }, 'live.viewer_signed_out');
        finish(1008, 'signed out');
      }
    }
  };

  const timer = setInterval(() => {
    if (busy || done) return;
    busy = true;
    tick().catch((err: unknown) => {
      app.log.info({ session: id, reason: err instanceof Error ? err.message : String(err) }, 'live.remote_read_failed');
      finish(1011, 'recording unreadable');
    }).finally(() => { busy = false; });
  }, REMOTE_LIVE.pollMs);
  ws.on('close', () => { done = true; clearInterval(timer); });
}
