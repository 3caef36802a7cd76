import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CastEvent, castLines, readCast } from '../../recorder/asciicast-reader.js';
import { buildIndex, writeKeyframes } from '../../recorder/keyframes.js';
import { MAX_WINDOW_BYTES, playerWindow } from '../../gateway/http/player-windows.js';

function castFile(lines: string[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'win-')), 'ch-1.cast');
  writeFileSync(file, lines.join('\n'));
  return file;
}

const header = JSON.stringify({ version: 2, width: 80, height: 24 });

describe('cast lines with offsets', () => {
  it('gives each line and the offset after it, across read-chunk boundaries and multi-byte text', async () => {
    const lines = [header, JSON.stringify([0.5, 'o', 'é'.repeat(200_000)]), JSON.stringify([1, 'o', '日本'.repeat(90_000)]), '[2,"o","end"]'];
    const file = castFile(lines);
    let expectEnd = 0;
    const got: string[] = [];
    for await (const { line, end } of castLines(file)) {
      expectEnd += Buffer.byteLength(line) + 1;
      expect(end).toBe(Math.min(expectEnd, Buffer.byteLength(lines.join('\n'))));
      got.push(line);
    }
    expect(got).toEqual(lines);
    // Resuming at an offset reads exactly the lines after it.
    const second = Buffer.byteLength(lines[0]! + '\n' + lines[1]! + '\n');
    const rest: string[] = [];
    for await (const { line } of castLines(file, second)) rest.push(line);
    expect(rest).toEqual(lines.slice(2));
  });
});

describe('player windows', () => {
  /** 20 minutes of output, 2 KB every 0.5 s, a marker every minute, some unknown codes. */
  let shared: { file: string; events: CastEvent[] } | null = null;
  async function busyIndexed(): Promise<{ file: string; events: CastEvent[] }> {
    if (!shared) { shared = busy(); await writeKeyframes(shared.file); }
    return shared;
  }
  function busy(): { file: string; events: CastEvent[] } {
    const events: CastEvent[] = [];
    for (let t = 0; t < 1200; t += 0.5) {
      events.push([t, 'o', `[${t}] ${'y'.repeat(2000)}\r\n`]);
      if (t % 60 === 0) events.push([t, 'm', `minute ${t / 60}`]);
      if (t % 100 === 0) events.push([t, 'z', 'a code from a newer writer']);
    }
    return { file: castFile([header, ...events.map((e) => JSON.stringify(e))]), events };
  }

  it('plays the whole recording window by window without loss or repeats, skipping unknown codes', async () => {
    const { file, events } = await busyIndexed();
    const played: CastEvent[] = [];
    let w = await playerWindow(file, 0, 60);
    expect(w.duration).toBe(1199.5);
    expect(w.markers).toHaveLength(20);
    played.push(...w.events);
    let pos = w.events[w.events.length - 1]![0];
    while (w.next !== null) {
      w = await playerWindow(file, w.next, 60);
      const fresh = w.events.filter((e) => e[0] > pos);
      played.push(...fresh);
      if (fresh.length) pos = fresh[fresh.length - 1]![0];
    }
    expect(played).toEqual(events.filter((e) => e[1] !== 'z'));
  });

  it('cuts a window at the byte limit on an event boundary and says where to continue', async () => {
    const { file } = await busyIndexed();
    const w = await playerWindow(file, 0, 1200);
    const bytes = w.events.reduce((n, e) => n + e[2].length, 0);
    expect(bytes).toBeGreaterThan(MAX_WINDOW_BYTES);
    expect(bytes).toBeLessThan(MAX_WINDOW_BYTES + 10_000);
    expect(w.next).toBe(w.events[w.events.length - 1]![0]);
  });

  it('starts a late window at the nearest keyframe, not at the beginning of the file', async () => {
    const { file } = await busyIndexed();
    const w = await playerWindow(file, 1000, 5);
    expect(w.keyframe.t).toBeGreaterThan(900);
    expect(w.keyframe.t).toBeLessThanOrEqual(1000);
    expect(w.events[0]![0]).toBeGreaterThan(w.keyframe.t);
  });

  it('replays a recording cut by a crash up to its last whole event', async () => {
    const file = castFile([header, '[0.1,"o","hello\\r\\n"]', '[0.2,"x","?"]', '[0.3,"o","tor']);
    const w = await playerWindow(file, 0, 60);
    expect(w.truncated).toBe(true);
    expect(w.events).toEqual([[0.1, 'o', 'hello\r\n']]);
    expect(w.next).toBeNull();
  });

  it('ignores an index written for another version of the file', async () => {
    const { file } = busy();
    await writeKeyframes(file);
    writeFileSync(file, [header, '[0.1,"o","replaced"]'].join('\n'));
    const w = await playerWindow(file, 0, 60);
    expect(w.events).toEqual([[0.1, 'o', 'replaced']]);
    expect(w.duration).toBe(0.1);
  });

  it('indexes a file by streaming, with the same events readCast sees', async () => {
    const { file } = await busyIndexed();
    const index = await buildIndex(file);
    const cast = await readCast(file);
    expect(index.duration).toBe(cast.events[cast.events.length - 1]![0]);
    expect(index.frames.length).toBeGreaterThan(10);
  });
});
