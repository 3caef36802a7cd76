// Makes a finished session searchable: typed commands (keystrokes joined into lines; masked input is
// left out), output lines (escape sequences stripped) and SQL statements, each with the second of
// the session it happened at, so a hit opens the player at that moment.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCast } from '../../recorder/asciicast-reader.js';
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
    for (const file of readdirSync(dir).filter((f) => /^ch-\d+\.cast$/.test(f))) {
      const { entries: castEntries } = await openCast(join(dir, file));
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
        } else if (code === 'o') {
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
    const statements = join(dir, 'statements.ndjson');
    if (existsSync(statements)) {
      const lines = readFileSync(statements, 'utf8').split('\n').filter(Boolean);
      // Seconds since the session started, the same clock as the player's #t= links.
      const first = (await store.sessions.byId(sessionId))?.startedAt ?? (lines[0] ? Date.parse((JSON.parse(lines[0]) as { t: string }).t) : 0);
      for (const l of lines) {
        const s = JSON.parse(l) as { t: string; sql: string };
        add((Date.parse(s.t) - first) / 1000, 'sql', s.sql);
      }
    }
    await store.search.add(entries);
  } catch (err) {
    log.warn({ session: sessionId, err: err instanceof Error ? err.message : String(err) }, 'search.index_failed');
  }
  return entries.length;
}
