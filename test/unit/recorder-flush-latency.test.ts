// How stale a recording file can be while its session runs: another node's live view tails it, and
// a node that dies must leave its recordings readable up to at most 1 s before the death. Measured
// with real time: a line is written every few ms while the file is sampled, and every sample must
// hold every line written more than a second before it (no fsync involved: a process death keeps
// what reached the kernel).
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSink } from '../../recorder/file-sink.js';

describe('recording files while a session runs', () => {
  it('hold every line written more than a second ago, whatever the moment they are read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-flush-'));
    const path = join(dir, 'ch-1.cast');
    const sink = new FileSink(path, { onError: (e) => { throw e; } });
    const written: number[] = [];
    let worst = 0;
    const until = Date.now() + 3_000;
    let i = 0;
    while (Date.now() < until) {
      written.push(Date.now());
      sink.write(`[${i++},"o","x"]\n`);
      const before = Date.now();
      await new Promise((r) => setTimeout(r, 7));
      // A stalled process (a loaded machine) delays the flush timer as much as this one: not the sink's lateness.
      const stalled = Math.max(0, Date.now() - before - 7);
      let onDisk = 0;
      try { onDisk = readFileSync(path, 'utf8').split('\n').length - 1; } catch { onDisk = 0; }
      // The oldest line not on disk yet: how long it has waited.
      const oldestMissing = written[onDisk];
      if (oldestMissing !== undefined) worst = Math.max(worst, Date.now() - oldestMissing - stalled);
    }
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(1_000);
  });
});
