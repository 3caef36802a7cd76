// Recording storage, in process: a sink on a disk that fills up at every possible byte keeps only
// whole lines; the byte budget stops a recording once, after the write that reached it; sidecars
// are replaced whole or not at all; the volume watch reports each crossing of its watermark once,
// measures early when recordings wrote enough to cross it, and counts an unmeasurable volume as low.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../recorder/atomic-file.js';
import { FileSink, type SinkFile } from '../../recorder/file-sink.js';
import { RecordingBudgetExceeded, SessionRecording } from '../../recorder/session-recording.js';
import { RecordingSpace, type SpaceReport, type VolumeFree } from '../../gateway/session/recording-space.js';
import { FakeClock } from '../support/fake-clock.js';

/** A file on a disk with `room` bytes left: a write gets what fits, then ENOSPC. */
function fullDisk(room: number): { file: SinkFile; content: () => Buffer } {
  let data = Buffer.alloc(0);
  const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const file: SinkFile = {
    write: (b, off, len) => {
      const fits = Math.max(0, Math.min(len, room - data.length));
      if (fits === 0) return Promise.reject(enospc());
      data = Buffer.concat([data, b.subarray(off, off + fits)]);
      return Promise.resolve({ bytesWritten: fits });
    },
    truncate: (n) => { data = data.subarray(0, n); return Promise.resolve(); },
    stat: () => Promise.resolve({ size: data.length }),
    sync: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return { file, content: () => data };
}

// One root for the file, removed at its end: the fill-up test alone makes a dir per byte.
const root = mkdtempSync(join(tmpdir(), 'portcullis-storage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const tmp = (): string => mkdtempSync(join(root, 'd-'));

describe('a recording sink on a volume that fills up', () => {
  const lines = Array.from({ length: 40 }, (_, i) => `[${i}.000000,"o","line ${i} ${'x'.repeat(i * 3)}"]\n`);
  const total = Buffer.byteLength(lines.join(''));

  it('keeps whole lines only, whatever byte the disk fills at, and reports the failure once', async () => {
    for (let room = 0; room <= total + 1; room++) {
      const disk = fullDisk(room);
      const errors: Error[] = [];
      const sink = new FileSink(join(tmp(), 'ch-1.cast'), { openFile: () => Promise.resolve(disk.file), onError: (e) => errors.push(e) });
      // Flushed in chunks of a few lines, as the 1 s timer or the 256 KiB mark would.
      for (let i = 0; i < lines.length; i++) {
        sink.write(lines[i]!);
        if (i % 7 === 6) await sink.flush();
      }
      await sink.close();
      const text = disk.content().toString();
      expect(text === '' || text.endsWith('\n'), `room ${room}: ${JSON.stringify(text.slice(-30))}`).toBe(true);
      expect(lines.join('').startsWith(text), `room ${room}`).toBe(true);
      expect(errors.length, `room ${room}`).toBe(room >= total ? 0 : 1);
      if (errors[0]) expect((errors[0] as Error & { code?: string }).code).toBe('ENOSPC');
    }
  });

  it('leaves no file at all when nothing was written to it', async () => {
    const dir = tmp();
    const sink = new FileSink(join(dir, 'events.ndjson'), { onError: () => {} });
    await sink.close();
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('the byte budget of a recording', () => {
  const meta = { session: 'ses_budget', protocol: 'ssh', user: 'ops', target: 'web01', grant: 'gr_1', reason: 'r', ticket: null, client_addr: '192.0.2.1', started_at: '2026-12-02T05:00:00.000Z' };

  it('keeps the write that reached it, drops every later one, says why in the cast and the events, and reports once after the call', async () => {
    const dir = join(tmp(), 'ses_budget');
    const failures: Error[] = [];
    const rec = new SessionRecording(dir, meta, () => Date.UTC(2026, 11, 2, 5), (e) => failures.push(e), { maxBytes: 4096 });
    const term = rec.terminal({ width: 80, height: 24 });
    const chunk = Buffer.from('y\r\n'.repeat(500));
    term.output(chunk);
    term.output(chunk);
    expect(failures).toHaveLength(0); // not from inside the tap
    await Promise.resolve();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(RecordingBudgetExceeded);
    expect(rec.stopped).toBe('budget');
    const used = rec.bytes;
    term.output(Buffer.from('after the budget\r\n'));
    term.input(Buffer.from('typed after\r'));
    rec.event('exec', { command: 'after' });
    expect(rec.bytes).toBe(used);
    await rec.close('recording-budget');
    const cast = readFileSync(join(dir, 'ch-1.cast'), 'utf8');
    expect(cast).toContain('recording stopped: byte budget of 4096 bytes reached');
    expect(cast).not.toContain('after the budget');
    expect(cast.split('\n').filter(Boolean).length).toBe(1 + 2 + 1); // header, the two chunks, the note
    expect(readFileSync(join(dir, 'events.ndjson'), 'utf8')).toMatch(/"kind":"recording-stopped","cause":"budget"/);
    expect(JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'))).toMatchObject({ end_reason: 'recording-budget' });
    await Promise.resolve();
    expect(failures).toHaveLength(1);
  });
});

describe('sidecars written through a rename', () => {
  it('replace the file whole, or leave the old one and no temporary file when the write fails', () => {
    const dir = tmp();
    const path = join(dir, 'ch-1.keyframes.json');
    writeFileAtomic(path, '{"old":true}');
    expect(readFileSync(path, 'utf8')).toBe('{"old":true}');
    writeFileAtomic(path, '{"new":true}');
    expect(readFileSync(path, 'utf8')).toBe('{"new":true}');
    // A rename onto a non-empty directory fails after the temporary file was written whole: the
    // temporary file must not stay behind, and the directory is untouched.
    const blocked = join(dir, 'meta.json');
    mkdirSync(blocked);
    writeFileSync(join(blocked, 'x'), 'kept');
    expect(() => writeFileAtomic(blocked, '{}')).toThrow();
    expect(readFileSync(join(blocked, 'x'), 'utf8')).toBe('kept');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('the recordings volume watch', () => {
  const MiB = 2 ** 20;

  function watch(free: { v: VolumeFree | Error }, mark = { minFreeBytes: 5 * MiB, minFreePercent: 0 }) {
    const clock = new FakeClock();
    const seen: Array<['low' | 'restored', SpaceReport]> = [];
    let stats = 0;
    const space = new RecordingSpace('/rec', mark, clock, { low: (r) => seen.push(['low', r]), restored: (r) => seen.push(['restored', r]) }, () => {
      stats++;
      return free.v instanceof Error ? Promise.reject(free.v) : Promise.resolve(free.v);
    });
    return { clock, seen, space, stats: () => stats };
  }
  const tick = async (clock: FakeClock, ms: number): Promise<void> => {
    for (let i = 0; i < ms / 1000; i++) { clock.advance(1000); for (let k = 0; k < 5; k++) await Promise.resolve(); }
  };

  it('reports each crossing once, refuses while low, and comes back above the mark plus its margin', async () => {
    const free = { v: { free: 50 * MiB, total: 100 * MiB } as VolumeFree | Error };
    const { clock, seen, space } = watch(free);
    await space.start();
    expect(space.refusal).toBeNull();
    free.v = { free: 4 * MiB, total: 100 * MiB };
    await tick(clock, 5000);
    expect(seen.map((s) => s[0])).toEqual(['low']);
    expect(space.refusal).toMatch(/recordings volume is almost full \(4\.0 MiB free, needs 5\.0 MiB\)/);
    free.v = { free: 5.2 * MiB, total: 100 * MiB }; // above the mark, not above its 10% margin
    await tick(clock, 3000);
    expect(seen.map((s) => s[0])).toEqual(['low']);
    free.v = { free: 6 * MiB, total: 100 * MiB };
    await tick(clock, 1000);
    expect(seen.map((s) => s[0])).toEqual(['low', 'restored']);
    expect(space.refusal).toBeNull();
    space.stop();
  });

  it('takes the larger of the byte and percent marks', async () => {
    const { seen, space } = watch({ v: { free: 8 * MiB, total: 100 * MiB } }, { minFreeBytes: 5 * MiB, minFreePercent: 10 });
    await space.start();
    expect(seen[0]?.[1]).toMatchObject({ watermark: 10 * MiB, free: 8 * MiB });
    space.stop();
  });

  it('measures at once, without waiting for the poll, when recordings wrote enough to cross the mark', async () => {
    const free = { v: { free: 20 * MiB, total: 100 * MiB } as VolumeFree | Error };
    const { seen, space, stats } = watch(free);
    await space.start();
    const before = stats();
    space.wrote(10 * MiB);
    expect(stats()).toBe(before);
    free.v = { free: 4 * MiB, total: 100 * MiB };
    space.wrote(6 * MiB);
    await space.measure();
    expect(stats()).toBe(before + 1);
    expect(seen.map((s) => s[0])).toEqual(['low']);
    space.stop();
  });

  it('counts a volume it cannot measure as low, and says so', async () => {
    const { seen, space } = watch({ v: new Error('ENOENT: no such file or directory, statfs') });
    await space.start();
    expect(seen.map((s) => s[0])).toEqual(['low']);
    expect(space.refusal).toMatch(/cannot check the space for session recordings \(ENOENT/);
    space.stop();
  });
});
