// The work after a session's recording is sealed — its keyframe indexes (one worker thread per
// terminal recording) and its search indexing — run in a bounded pool instead of all at once: 200
// sessions ending together once started 200 workers (2 GB of heap limit each) and took the gateway
// from 270 MB to 2.25 GB. Each queued job leaves a marker file in the node's data dir
// (`<data>/post-close/`, node-local state, never inside the recordings tree) until it is done, so a job the gateway never got to (shutdown with a queue, a crash) is found
// and queued again at the next start: queued work is recoverable, not lost. A marker that cannot
// be written (a full volume) only costs that: the keyframes are still built on first open.
// It does not decide when a session ends or what a recording holds.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../recorder/atomic-file.js';
import { RecordingLayout } from '../../recorder/layout.js';
import { LOG, type Logger } from '../log/logger.js';
import { WorkPool } from '../util/work-pool.js';

export interface PostCloseJob {
  session: string;
  /** The recording directory (the session row's `recording`). */
  dir: string;
}

export interface PostCloseDeps {
  /** Where the markers of queued jobs live (`<data>/post-close`). */
  markerDir: string;
  concurrency: number;
  /** Builds one terminal recording's keyframe sidecar (off the main thread). */
  keyframes(castPath: string): Promise<void>;
  /** Makes the recording searchable. */
  index(job: PostCloseJob): Promise<void>;
  log: Logger;
}

/** The markers' folder in a node's data dir. */
export const POST_CLOSE_DIR = 'post-close';
/** Jobs waiting at most; past it a job stays as a marker only, for the next start. */
const MAX_QUEUED = 100_000;
const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;

export class PostCloseWork {
  private readonly pool: WorkPool<PostCloseJob>;
  private readonly markers: string;
  /** Set when a stop gave up waiting: jobs still running then keep their markers (the store may be closed under them). */
  private abandoned = false;

  constructor(private readonly deps: PostCloseDeps) {
    this.markers = deps.markerDir;
    this.pool = new WorkPool(deps.concurrency, MAX_QUEUED, (job) => this.run(job), {
      failed: (job, err) => deps.log.warn({ session: job.session, err: err instanceof Error ? err.message : String(err) }, LOG.postCloseFailed),
    });
  }

  /** Jobs waiting for a slot (the metric). */
  get depth(): number {
    return this.pool.depth;
  }

  get active(): number {
    return this.pool.active;
  }

  /** Queues a sealed recording's post-close work, with a marker so it survives a stop. */
  enqueue(job: PostCloseJob): void {
    if (!SESSION_ID.test(job.session)) return;
    try {
      mkdirSync(this.markers, { recursive: true, mode: 0o700 });
      writeFileAtomic(this.marker(job.session), JSON.stringify(job));
    } catch (err) {
      this.deps.log.warn({ session: job.session, err: err instanceof Error ? err.message : String(err) }, LOG.postCloseMarkerFailed);
    }
    if (!this.pool.add(job)) this.deps.log.warn({ session: job.session }, LOG.postCloseDeferred);
  }

  /** At start: queues again every job a previous run left unfinished. Returns how many. */
  recover(): number {
    let names: string[];
    try {
      names = readdirSync(this.markers);
    } catch {
      return 0;
    }
    let n = 0;
    for (const name of names) {
      const id = /^(.+)\.json$/.exec(name)?.[1];
      if (id === undefined || !SESSION_ID.test(id)) { if (name.endsWith('.tmp')) rmSync(join(this.markers, name), { force: true }); continue; }
      try {
        const job = JSON.parse(readFileSync(join(this.markers, name), 'utf8')) as Partial<PostCloseJob>;
        if (job.session !== id || typeof job.dir !== 'string') throw new Error('not a post-close job');
        if (this.pool.add({ session: id, dir: job.dir })) n++;
      } catch {
        rmSync(join(this.markers, name), { force: true });
      }
    }
    if (n > 0) this.deps.log.info({ jobs: n }, LOG.postCloseRecovered);
    return n;
  }

  /** Resolves once every queued job is done (tests, benchmarks). */
  idle(): Promise<void> {
    return this.pool.idle();
  }

  /**
   * Shutdown: starts nothing new and waits for the running jobs up to `timeoutMs`. Jobs that did
   * not run keep their markers and run at the next start.
   */
  async stop(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => { timer = setTimeout(r, timeoutMs); });
    const left = await this.pool.stop(deadline);
    clearTimeout(timer);
    if (this.pool.active > 0) this.abandoned = true;
    if (left.length > 0) this.deps.log.info({ jobs: left.length }, LOG.postCloseLeftForNextStart);
  }

  private async run(job: PostCloseJob): Promise<void> {
    const layout = new RecordingLayout(job.dir);
    for (const channel of layout.castChannels()) await this.deps.keyframes(layout.cast(channel));
    await this.deps.index(job);
    if (!this.abandoned) rmSync(this.marker(job.session), { force: true });
  }

  private marker(session: string): string {
    return join(this.markers, `${session}.json`);
  }
}
