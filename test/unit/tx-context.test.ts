// TxContext: the transaction is seen however deep in awaits and timers; the process-wide async
// hooks are on only while a transaction is open (a promise continuation has async id 0 when they
// are off); code that outlives its transaction never sees a later one as its own.
import { executionAsyncId } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { TxContext } from '../../gateway/store/tx-context.js';

/** The async id a promise continuation runs under: 0 when no async hooks track promises. */
const continuationId = (): Promise<number> => new Promise((resolve) => { void Promise.resolve().then(() => resolve(executionAsyncId())); });
const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('TxContext', () => {
  it('is seen in every await and timer of the transaction, and the hooks are off again after it', async () => {
    const ctx = new TxContext<{ id: number }>();
    expect(await continuationId()).toBe(0);
    const tx = { id: 1 };
    const seen = await ctx.run(tx, async () => {
      await tick();
      const inTimer = await new Promise((r) => setTimeout(() => r(ctx.current()), 1));
      expect(await continuationId()).not.toBe(0);
      return [ctx.current(), inTimer];
    });
    expect(seen).toEqual([tx, tx]);
    expect(ctx.current()).toBeUndefined();
    expect(await continuationId()).toBe(0);
  });

  it('stays on while any transaction is open, and off once the last one settles, fn failing or not', async () => {
    const ctx = new TxContext<string>();
    let release!: () => void;
    const long = ctx.run('a', () => new Promise<void>((r) => { release = r; }));
    await expect(ctx.run('b', () => Promise.reject(new Error('b failed')))).rejects.toThrow('b failed');
    expect(await continuationId()).not.toBe(0);
    release();
    await long;
    expect(await continuationId()).toBe(0);
  });

  it('a task that outlives its transaction never takes a later transaction for its own', async () => {
    const ctx = new TxContext<string>();
    const seen: Array<string | undefined> = [];
    let straggler!: Promise<void>;
    await ctx.run('first', () => {
      straggler = (async () => {
        await tick(20);
        seen.push(ctx.current());
      })();
      return Promise.resolve();
    });
    // The straggler wakes while a second transaction is open: it still carries the first.
    await ctx.run('second', async () => {
      await straggler;
      seen.push(ctx.current());
    });
    await tick(5);
    expect(seen).toEqual(['first', 'second']);
    expect(ctx.current()).toBeUndefined();
  });
});
