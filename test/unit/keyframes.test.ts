import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CastEvent, type CastFile, readCast } from '../../recorder/asciicast-reader.js';
import { buildKeyframes, screenAt, screenByPlaying, screenCells } from '../../recorder/keyframes.js';

/** A deterministic busy session: colours, cursor moves, clears, scrolling, long lines, a resize. */
function syntheticCast(seconds: number): CastFile {
  const events: CastEvent[] = [];
  let seed = 42;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
  for (let t = 0; t < seconds; t += 0.25) {
    const k = rnd(10);
    let s: string;
    if (k === 0) s = '\x1b[2J\x1b[H';
    else if (k === 1) s = `\x1b[${1 + rnd(20)};${1 + rnd(70)}H\x1b[1;3${rnd(8)}mX\x1b[0m`;
    else if (k === 2) s = 'ü→日本'.repeat(1 + rnd(5)) + '\r\n';
    else if (k === 3) s = `\x1b[7m${'#'.repeat(rnd(120))}\x1b[27m\r\n`;
    else s = `line ${t.toFixed(2)} ${'x'.repeat(rnd(60))}\r\n`;
    events.push([t, 'o', s]);
    if (rnd(50) === 0) events.push([t, 'r', `${60 + rnd(40)}x${20 + rnd(10)}`]);
    if (rnd(7) === 0) events.push([t, 'i', 'ls\r']);
  }
  return { header: { version: 2, width: 80, height: 24 }, events, truncated: false };
}

describe('keyframe seeking', () => {
  it('gives the same screen as playing from the start, cell by cell, at any time', async () => {
    const cast = syntheticCast(120);
    const frames = await buildKeyframes(cast, 10);
    expect(frames.length).toBeGreaterThan(10);
    for (const t of [0.1, 5, 9.99, 10, 10.01, 33.3, 59.75, 60, 87.5, 119.9, 500]) {
      const [a, b] = await Promise.all([screenAt(cast, frames, t), screenByPlaying(cast, t)]);
      expect(screenCells(a), `t=${t}`).toEqual(screenCells(b));
      a.dispose();
      b.dispose();
    }
  });

  it('keeps keyframes close enough that a seek replays at most one interval', async () => {
    const cast = syntheticCast(120);
    const frames = await buildKeyframes(cast, 10);
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.t - frames[i - 1]!.t).toBeLessThanOrEqual(10.25);
  });
});

describe('reading recordings', () => {
  it('reads a recording cut by a crash, keeping every whole event and flagging the torn line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cast-'));
    const file = join(dir, 'x.cast');
    writeFileSync(file, '{"version":2,"width":80,"height":24}\n[0.1,"o","hi"]\n[0.2,"x","unknown code"]\n[0.3,"o","bye"]\n[0.4,"o","tor');
    const cast = await readCast(file);
    expect(cast.events).toEqual([[0.1, 'o', 'hi'], [0.2, 'x', 'unknown code'], [0.3, 'o', 'bye']]);
    expect(cast.truncated).toBe(true);
  });

  it('refuses a file that is not asciicast v2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cast-'));
    writeFileSync(join(dir, 'bad.cast'), '{"version":1}\n');
    await expect(readCast(join(dir, 'bad.cast'))).rejects.toThrow(/not an asciicast v2 header/);
  });
});
