// Keyframe sidecars are built by long-lived worker threads, one recording at a time each: every
// job of a burst gets its sidecar, a job over its time or heap is given up (no sidecar, built on
// first open) and the next job still gets a thread. The threads load the built worker script, so
// this runs what `npm run build` made (dist/), like the gateway does.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const DIST = join(import.meta.dirname, '../../dist/recorder/keyframes.js');
type Keyframes = { writeKeyframesOffThread: (castPath: string, heapMb?: number, timeoutMs?: number) => Promise<void> };
const load = async (): Promise<Keyframes> => {
  if (!existsSync(DIST)) throw new Error('dist/ is missing: run "npm run build" first (npm test does)');
  return await import(DIST) as Keyframes;
};

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function cast(events: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-kfw-'));
  dirs.push(dir);
  const file = join(dir, 'ch-1.cast');
  const lines = [JSON.stringify({ version: 2, width: 80, height: 24 })];
  for (let i = 0; i < events; i++) lines.push(JSON.stringify([i * 0.05, 'o', `line ${i} ${'x'.repeat(60)}\r\n`]));
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}
const sidecar = (file: string): string => file.replace(/\.cast$/, '.keyframes.json');

/**
 * A small job under the 2 s limit, given a second try: the limit counts the thread's start (loading
 * xterm), 0.2-0.6 s here and more on a machine busy with other tests.
 */
async function smallJob(k: Keyframes, file: string): Promise<void> {
  await k.writeKeyframesOffThread(file, 256, 2000);
  if (!existsSync(sidecar(file))) await k.writeKeyframesOffThread(file, 256, 2000);
}

describe('keyframe worker threads', () => {
  it('build the sidecar of every recording of a burst, two at a time', async () => {
    const { writeKeyframesOffThread } = await load();
    const files = Array.from({ length: 6 }, (_, i) => cast(20 + i));
    await Promise.all(files.map((f) => writeKeyframesOffThread(f)));
    for (const f of files) expect((JSON.parse(readFileSync(sidecar(f), 'utf8')) as { frames: unknown[] }).frames.length).toBeGreaterThan(0);
  });

  it('give up a job over its time, and the next job gets a fresh thread', async () => {
    const k = await load();
    const { writeKeyframesOffThread } = k;
    // The same limits, so the same threads: 2 s, far too little for 32 MB of output (~6 s here).
    const warm = cast(10);
    await smallJob(k, warm);
    expect(existsSync(sidecar(warm))).toBe(true);
    const big = cast(400_000);
    const started = Date.now();
    await writeKeyframesOffThread(big, 256, 2000);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(existsSync(sidecar(big))).toBe(false);
    const small = cast(10);
    await smallJob(k, small);
    expect(existsSync(sidecar(small))).toBe(true);
  });
});
