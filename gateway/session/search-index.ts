// Makes a finished session searchable: typed commands (keystrokes joined into lines; masked input is
// left out), output lines (escape sequences stripped) and SQL statements, each with the second of
// the session it happened at, so a hit opens the player at that moment.
import { existsSync } from 'node:fs';
import { openCast } from '../../recorder/asciicast-reader.js';
import { RecordingLayout } from '../../recorder/layout.js';
import { openStatements } from '../../recorder/statement-reader.js';
import type { Logger } from '../log/logger.js';
import type { SearchEntry, Store } from '../store/store.js';

// eslint-disable-next-line no-control-regex -- stripping terminal escape sequences is the point
const ANSI = new RegExp('\u001b\\[[0-9;?]*[ -/]*[@-~]|\u001b\\][^\u0007\u001b]*(\u0007|\u001b\\\\)|\u001b[()][A-Za-z0-9]|\u001b[=>]', 'g');
// eslint-disable-next-line no-control-regex -- dropping control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;
const MAX_LINE = 500;
const MAX_ENTRIES = 50_000;

export async function indexRecording(store: Store, dir: string, sessionId: string, log: Logger): Promise<number> {
  const entries: SearchEntry[] = [];
  const add = (t: number, kind: SearchEntry['kind'], text: string): void => {
    const clean = text.replace(ANSI, '').replace(CONTROL, '').trim();
    if (clean.length > 0 && entries.length < MAX_ENTRIES) entries.push({ sessionId, t: Math.round(t * 10) / 10, kind, text: clean.slice(0, MAX_LINE) });
  };
  try {
    if (!existsSync(dir)) return 0;
    const layout = new RecordingLayout(dir);
    for (const channel of layout.castChannels()) {
      const { entries: castEntries } = await openCast(layout.cast(channel));
      let typed = '';
      let typedAt = 0;
      let masked = false;
      let out = '';
      let outAt = 0;
      for await (const { event } of castEntries) {
        if (!event) continue;
        const [t, code, data] = event;
        if (code === 'm' && data === 'masked input') masked = true;
        if (code === 'i') {
          for (const ch of data) {
            if (ch === '\r' || ch === '\n') {
              if (!masked) add(typedAt, 'input', typed);
              typed = '';
              masked = false;
            } else if (ch === '\x7f' || ch === '\b') typed = typed.slice(0, -1);
            else { if (!typed) typedAt = t; typed += ch; }
          }
        } else if (code === 'o' || code === 'e') {
          if (!out) outAt = t;
          out += data;
          const lines = out.split('\n');
          out = lines.pop() ?? '';
          for (const line of lines) add(outAt, 'output', line);
          if (out.length > MAX_LINE * 4) { add(outAt, 'output', out); out = ''; }
          if (!out) outAt = t;
        }
      }
      add(outAt, 'output', out);
    }
    if (existsSync(layout.statements)) {
      const session = await store.sessions.byId(sessionId);
      const protocol = session?.protocol === 'postgres' || session?.protocol === 'mysql' ? session.protocol : undefined;
      // Seconds since the session started, the same clock as the player's #t= links.
      let first = session?.startedAt;
      for await (const s of openStatements(layout.statements, protocol).records) {
        const at = Date.parse(s.t);
        first ??= at;
        add((at - first) / 1000, 'sql', s.sql);
      }
    }
    await store.search.add(entries);
  } catch (err) {
    log.warn({ session: sessionId, err: err instanceof Error ? err.message : String(err) }, 'search.index_failed');
  }
  return entries.length;
}
