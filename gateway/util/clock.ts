// Time is injected everywhere a decision depends on it, so expiry can be tested with a fake clock.
// `schedule` is the only way code asks to be woken; the system clock maps it onto setTimeout.

export type Cancel = () => void;

export interface Clock {
  now(): number;
  schedule(atMs: number, fn: () => void): Cancel;
}

// setTimeout overflows past 2^31-1 ms (about 24.8 days) and fires at once; re-arm in steps instead.
const MAX_TIMER_MS = 2_147_483_647;

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(atMs, fn) {
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      const delay = atMs - Date.now();
      if (delay > MAX_TIMER_MS) {
        timer = setTimeout(arm, MAX_TIMER_MS);
      } else {
        timer = setTimeout(fn, Math.max(0, delay));
      }
      timer.unref();
    };
    arm();
    return () => { if (timer) clearTimeout(timer); };
  },
};
