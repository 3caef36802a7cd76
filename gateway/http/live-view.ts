// The live view: a WebSocket that streams a running terminal session. Authenticated in the HTTP
// upgrade handler (cookie or Bearer, investigator role), before any WebSocket exists. No gap and
// no duplicate between what was recorded and the live stream: the viewer subscribes to live events
// (learning each file's byte position at that instant), then the recording is flushed and read up
// to that position; events that arrive meanwhile are held and sent after the file's. A viewer that falls behind is disconnected rather than buffered without bound.
// The token the viewer came with is checked again every few seconds: signing out, a password
// change or a disabled account ends the stream, not only new ones. A session live on another node
// of the cluster is streamed from its files in the shared recordings directory (live-view-remote.ts).
import { WebSocketServer, type WebSocket } from 'ws';
import { type CastEvent, openCast } from '../../recorder/asciicast-reader.js';
import { displayFor } from '../../recorder/cast-display.js';
import { SEALED_INPUT } from '../../recorder/masked-spans.js';
import type { SessionRecording } from '../../recorder/session-recording.js';
import type { LiveFrame } from '../api-types.js';
import type { ApiServices } from './api-services.js';
import { streamRemote } from './live-view-remote.js';
import { allowed } from './router.js';
import { logRefusedHandshakes, type UpgradeRoute } from './upgrade.js';
import { cookieToken } from './web-auth.js';

const PATH = /^\/api\/v1\/sessions\/([A-Za-z0-9_-]+)\/live$/;
const MAX_BUFFERED = 8 * 1024 * 1024;
/** How often a watching viewer's token is checked again (ticks of the 500 ms end check). */
const RECHECK_TICKS = 10;

export function liveViewRoute(app: ApiServices, live: Map<string, SessionRecording>): UpgradeRoute {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  logRefusedHandshakes(wss, app.log);
  return {
    path: PATH,
    handle: (req, socket, head, m, refuse) => void (async () => {
      const bearer = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : null;
      const token = bearer ?? cookieToken(req);
      const user = token ? await app.authn.byToken(token) : undefined;
      if (!user || !token) return refuse(401, 'Unauthorized');
      if (!allowed(['investigator'], user)) return refuse(403, 'Forbidden');
      const id = m[1]!;
      const recording = live.get(id);
      // Not recorded here: live on another node (its record says so), read from the shared files.
      const remote = !recording && !app.live.get(id) && (await app.sessions.get(id))?.ended_at === null;
      if (!recording && !remote) return refuse(404, 'No live session with that id');
      wss.handleUpgrade(req, socket, head, (ws) => {
        // Oversized frames make ws close the socket and emit an error: log it, never crash.
        ws.on('error', (err: Error) => app.log.info({ session: id, reason: err.message }, 'live.socket_error'));
        // A viewer leaving (closing the page or navigating away) is worth a line: it shows the
        // stream to that browser really stopped.
        ws.on('close', (code: number) => app.log.info({ session: id, by: user.name, code }, 'live.viewer_left'));
        app.audit.record('recording.viewed', user.name, { session: id, file: 'live', by: user.name });
        if (recording) void stream(ws, recording, app, id, token);
        else streamRemote(ws, app, id, token);
      });
    })().catch((err: unknown) => {
      app.log.error({ err }, 'live.upgrade_failed');
      refuse(500, 'Internal Server Error');
    }),
  };
}

async function stream(ws: WebSocket, rec: SessionRecording, app: ApiServices, id: string, token: string): Promise<void> {
  const held: Array<[number, [number, string, string]]> = [];
  let caughtUp = false;
  // The watched channel is shown as a screen shows it (a pipe cast as a transcript, cast-display.ts).
  let show = (_channel: number, e: CastEvent): CastEvent => e;
  const send = (msg: LiveFrame): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED) { ws.close(1013, 'viewer too slow'); return; }
    ws.send(JSON.stringify(msg));
  };
  const { unsubscribe, positions } = rec.subscribe((channel, e) => {
    if (caughtUp) send({ type: 'event', channel, event: show(channel, e) });
    else held.push([channel, e]);
  });
  const channel = Math.max(1, rec.lastChannel);
  ws.on('close', unsubscribe);
  await rec.flush();
  try {
    // Streamed, never held whole: a long live session's catch-up waits for the viewer to drain.
    const { header, entries } = await openCast(rec.layout.cast(channel));
    send({ type: 'header', channel, header });
    const display = displayFor(header);
    show = (ch, e) => (ch === channel ? display(e) : e);
    const upTo = positions.get(channel) ?? 0;
    for await (const { event, end } of entries) {
      if (ws.readyState !== ws.OPEN || end > upTo) break;
      // Sealed masked input is for a reveal, not for viewers (live events never carry it either).
      if (event && event[1] !== SEALED_INPUT) ws.send(JSON.stringify({ type: 'event', channel, event: display(event) } satisfies LiveFrame));
      while (ws.bufferedAmount > MAX_BUFFERED / 2 && ws.readyState === ws.OPEN) await new Promise((r) => setTimeout(r, 20));
    }
  } catch {
    send({ type: 'header', channel, header: null });
  }
  for (const [ch, e] of held) send({ type: 'event', channel: ch, event: show(ch, e) });
  caughtUp = true;
  const ended = (): void => { send({ type: 'end' }); ws.close(1000, 'session ended'); };
  let ticks = 0;
  const timer = setInterval(() => {
    if (!app.live.get(id)) { clearInterval(timer); ended(); return; }
    if (++ticks % RECHECK_TICKS !== 0) return;
    void app.authn.byToken(token).then((u) => {
      if (u && allowed(['investigator'], u)) return;
      clearInterval(timer);
      app.log.info({ session: id }, 'live.viewer_signed_out');
      ws.close(1008, 'signed out');
    }, () => undefined);
  }, 500);
  ws.on('close', () => clearInterval(timer));
}
