// Post-close work in a bounded pool, on the fake clock: however many sessions end at once, no more
// than the configured number of jobs (keyframe workers, search indexing) run together, the rest
// wait in order, the queue depth is what the metric reads; a failing job frees its slot; a stop
// keeps queued jobs as markers that the next start runs.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../gateway/log/logger.js';
import { POST_CLOSE_DIR, PostCloseWork } from '../../gateway/session/post-close.js';
import { WorkPool } from '../../gateway/util/work-pool.js';
import { FakeClock } from '../support/fake-clock.js';

/** Lets promise callbacks run (the fake clock fires timers synchronously). */
const settle = async (): Promise<void> => { for (let i = 0; i < 10; i++) await Promise.resolve(); };

describe('the work pool', () => {
  it('runs at most `concurrency` jobs at once, in order, whatever arrives together', async () => {
    const clock = new FakeClock();
    let running = 0;
    let most = 0;
    const done: number[] = [];
    // Each job takes 1 s of fake time.
    const pool = new WorkPool<number>(2, 1000, (n) => new Promise<void>((resolve) => {
      running++;
      most = Math.max(most, running);
      clock.schedule(clock.now() + 1000, () => { running--; done.push(n); resolve(); });
    }), { failed: () => {} });
    for (let i = 0; i < 200; i++) expect(pool.add(i)).toBe(true);
    expect(pool.active).toBe(2);
    expect(pool.depth).toBe(198);
    const idle = pool.idle();
    for (let s = 0; s < 100; s++) {
      clock.advance(1000);
      await settle();
      expect(pool.active).toBeLessThanOrEqual(2);
    }
    await idle;
    expect(most).toBe(2);
    expect(done).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(pool.depth).toBe(0);
  });

  it('frees the slot of a job that throws and reports it', async () => {
    const failed: number[] = [];
    const pool = new WorkPool<number>(1, 10, (n) => (n === 1 ? Promise.reject(new Error('boom')) : Promise.resolve()), { failed: (n) => failed.push(n) });
    pool.add(1);
    pool.add(2);
    await pool.idle();
    expect(failed).toEqual([1]);
    expect(pool.active).toBe(0);
  });

  it('refuses jobs past its queue bound, and hands back queued jobs at stop once the running ones are done', async () => {
    const clock = new FakeClock();
    const pool = new WorkPool<number>(1, 3, () => new Promise<void>((r) => clock.schedule(clock.now() + 1000, r)), { failed: () => {} });
    expect([1, 2, 3, 4, 5].map((n) => pool.add(n))).toEqual([true, true, true, true, false]);
    let stopped: number[] | null = null;
    void pool.stop(new Promise(() => {})).then((left) => { stopped = left; });
    await settle();
    expect(stopped).toBeNull(); // job 1 still runs
    expect(pool.add(6)).toBe(false);
    clock.advance(1000);
    await settle();
    expect(stopped).toEqual([2, 3, 4]);
  });
});

describe('post-close work', () => {
  function setup(concurrency: number) {
    const root = mkdtempSync(join(tmpdir(), 'portcullis-postclose-'));
    const clock = new FakeClock();
    const ran: string[] = [];
    let running = 0;
    let most = 0;
    const work = new PostCloseWork({
      markerDir: join(root, POST_CLOSE_DIR), concurrency, log: createLogger('silent'),
      keyframes: (cast) => new Promise<void>((resolve) => {
        running++;
        most = Math.max(most, running);
        clock.schedule(clock.now() + 2000, () => { running--; ran.push(cast); resolve(); });
      }),
      index: (job) => { ran.push(`index:${job.session}`); return Promise.resolve(); },
    });
    const session = (id: string): { session: string; dir: string } => {
      const dir = join(root, id);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'ch-1.cast'), '{"version":2,"width":80,"height":24}\n');
      return { session: id, dir };
    };
    return { root, clock, ran, work, session, most: () => most };
  }

  it('bounds the keyframe workers of many closed sessions, exposes the queue depth, and removes each marker when done', async () => {
    const { root, clock, work, session, most, ran } = setup(2);
    for (let i = 0; i < 50; i++) work.enqueue(session(`ses_${i}`));
    expect(work.active).toBe(2);
    expect(work.depth).toBe(48);
    expect(readdirSync(join(root, POST_CLOSE_DIR))).toHaveLength(50);
    const idle = work.idle();
    for (let s = 0; s < 60; s++) { clock.advance(1000); await settle(); }
    await idle;
    expect(most()).toBe(2);
    expect(ran.filter((r) => r.startsWith('index:'))).toHaveLength(50);
    expect(readdirSync(join(root, POST_CLOSE_DIR))).toEqual([]);
  });

  it('keeps the jobs a stop left queued as markers, and runs them at the next start', async () => {
    const first = setup(1);
    for (let i = 0; i < 5; i++) first.work.enqueue(first.session(`ses_${i}`));
    const stopping = first.work.stop(60_000);
    first.clock.advance(2000);
    await settle();
    await stopping;
    expect(first.ran).toEqual([join(first.root, 'ses_0', 'ch-1.cast'), 'index:ses_0']);
    expect(readdirSync(join(first.root, POST_CLOSE_DIR)).sort()).toEqual(['ses_1.json', 'ses_2.json', 'ses_3.json', 'ses_4.json']);
    // A stray temporary marker and one that is not a job are cleared, not run.
    writeFileSync(join(first.root, POST_CLOSE_DIR, 'ses_9.json.tmp'), '{');
    writeFileSync(join(first.root, POST_CLOSE_DIR, 'ses_8.json'), '{"session":"ses_other","dir":"/"}');

    const ran: string[] = [];
    const next = new PostCloseWork({
      markerDir: join(first.root, POST_CLOSE_DIR), concurrency: 1, log: createLogger('silent'),
      keyframes: (cast) => { ran.push(cast); return Promise.resolve(); },
      index: (job) => { ran.push(`index:${job.session}`); return Promise.resolve(); },
    });
    expect(next.recover()).toBe(4);
    await next.idle();
    expect(ran.filter((r) => r.startsWith('index:')).sort()).toEqual(['index:ses_1', 'index:ses_2', 'index:ses_3', 'index:ses_4']);
    expect(readdirSync(join(first.root, POST_CLOSE_DIR))).toEqual([]);
    expect(existsSync(join(first.root, 'ses_4', 'ch-1.cast'))).toBe(true);
  });
});
