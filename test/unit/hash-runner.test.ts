import { describe, expect, it } from 'vitest';
import { HashRunner, pbkdf2Sha256 } from '../../gateway/access/hash-runner.js';
import { scramMatches, makeScramVerifier } from '../../gateway/access/scram-verifier.js';
import { isPortcullisError } from '../../gateway/util/errors.js';

function gate(): { job: () => Promise<void>; open: () => void } {
  let open!: () => void;
  const p = new Promise<void>((r) => { open = r; });
  return { job: () => p, open };
}

describe('password hashing off the event loop', () => {
  it('runs at most `concurrency` hashes, queues a bounded number of pre-auth ones and refuses the rest at once', async () => {
    const h = new HashRunner({ concurrency: 2, maxWaiting: 3 });
    const g = gate();
    const started: Array<Promise<unknown>> = [];
    for (let i = 0; i < 5; i++) started.push(h.run('pre-auth', g.job));
    expect(h.active).toBe(2);
    expect(h.queued).toBe(3);
    const refused = await h.run('pre-auth', g.job).catch((e: unknown) => e);
    expect(isPortcullisError(refused) && refused.code).toBe('unavailable');
    expect(h.refused).toBe(1);
    g.open();
    await Promise.all(started);
    expect(h.active).toBe(0);
    expect(h.queued).toBe(0);
  });

  it('gives a freed slot to signed-in work before waiting pre-auth work (an admin is not starved by a flood)', async () => {
    const h = new HashRunner({ concurrency: 1, maxWaiting: 10 });
    const order: string[] = [];
    const first = gate();
    const running = h.run('pre-auth', first.job);
    const waits = [
      h.run('pre-auth', () => { order.push('pre-auth-1'); return Promise.resolve(); }),
      h.run('pre-auth', () => { order.push('pre-auth-2'); return Promise.resolve(); }),
      h.run('signed-in', () => { order.push('signed-in'); return Promise.resolve(); }),
    ];
    first.open();
    await Promise.all([running, ...waits]);
    expect(order).toEqual(['signed-in', 'pre-auth-1', 'pre-auth-2']);
  });

  it('keeps the event loop turning while PBKDF2 runs (the 16,384-round SCRAM derivation took ~10 ms of main thread each)', async () => {
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 1);
    const salt = Buffer.alloc(16, 7);
    // Started in one tick: on the main thread these would all finish before any timer fired.
    await Promise.all(Array.from({ length: 12 }, () => pbkdf2Sha256('pre-auth', 'guess', salt, 16384, 32)));
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(5);
  });

  it('still checks SCRAM verifiers right', async () => {
    const v = await makeScramVerifier('correct horse', 4096);
    expect(await scramMatches('correct horse', v)).toBe(true);
    expect(await scramMatches('wrong', v)).toBe(false);
    expect(await scramMatches('x', 'not a verifier')).toBe(false);
  });
});
