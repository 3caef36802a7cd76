// Long-lived worker threads that build keyframe sidecars, one recording at a time each. A thread
// is started once and reused: starting one per recording (loading the terminal emulator each time)
// cost about 0.4 s of CPU per closed session here, most of what a short session costs the gateway.
// Each job keeps the bounds it had as a thread of its own: a heap limit (a job that exhausts it
// kills its thread, which is started again for the next job) and a time limit (the thread is
// stopped and the job given up: its sidecar is then built on first open). Threads never keep the
// gateway from exiting.
import { Worker } from 'node:worker_threads';

interface Job { castPath: string; done(): void }

export class KeyframeWorkers {
  private readonly queue: Job[] = [];
  private readonly slots: Array<{ worker: Worker | null; job: Job | null; timer: NodeJS.Timeout | null }>;

  constructor(private readonly threads: number, private readonly heapMb: number, private readonly timeoutMs: number) {
    this.slots = Array.from({ length: threads }, () => ({ worker: null, job: null, timer: null }));
  }

  /** Resolves when the sidecar is written or the job failed or ran out of time (never rejects). */
  run(castPath: string): Promise<void> {
    return new Promise((done) => {
      this.queue.push({ castPath, done });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.job !== null) continue;
      const job = this.queue.shift();
      if (!job) return;
      let worker: Worker;
      try {
        worker = slot.worker ??= this.start(slot);
      } catch {
        job.done();
        continue;
      }
      slot.job = job;
      slot.timer = setTimeout(() => { slot.worker = null; void worker.terminate(); }, this.timeoutMs);
      slot.timer.unref();
      worker.postMessage(job.castPath);
    }
  }

  private start(slot: (typeof this.slots)[number]): Worker {
    const worker = new Worker(new URL('./keyframe-worker.js', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: this.heapMb, maxYoungGenerationSizeMb: 16 },
    });
    worker.unref();
    worker.on('message', () => this.finish(slot));
    // An error (out of heap, a throw) is followed by 'exit': the job ends there.
    worker.on('error', () => {});
    worker.on('exit', () => {
      if (slot.worker === worker) slot.worker = null;
      this.finish(slot);
    });
    return worker;
  }

  private finish(slot: (typeof this.slots)[number]): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    const job = slot.job;
    slot.job = null;
    job?.done();
    this.dispatch();
  }
}
