// The session pipeline in process, shared by its test files: a test adapter driven through the
// real pipeline with the real decider, store, audit log, vault, live registry and scheduler
// (test-app) on a fake clock. `usePipelineApp()` registers the per-test app (user ops, target db01,
// a grant); the helpers read it from `pipelineState`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { SessionRecording } from '../../recorder/session-recording.js';
import { StaticCredentials } from '../../gateway/session/credentials.js';
import { type PipelineDeps, SessionPipeline } from '../../gateway/session/pipeline.js';
import { decidingAuthorizer, storeJournal } from '../../gateway/session/store-ports.js';
import type { TerminationReason } from '../../gateway/session/termination.js';
import type { UserRecord } from '../../gateway/store/records.js';
import { TestAdapter, tracingCredentials, tracingJournal } from './pipeline-tracing.js';
import { type TestApp, testApp } from './test-app.js';

export const MIN = 60_000;

/** The current test's app, step trace and user (set by usePipelineApp's beforeEach). */
export const pipelineState = {} as { t: TestApp; steps: string[]; ops: UserRecord };

/** Registers the per-test app: user ops, target db01 and a 30-minute grant for ops on it. */
export function usePipelineApp(): void {
  beforeEach(async () => {
    pipelineState.t = await testApp();
    pipelineState.steps = [];
    pipelineState.ops = await pipelineState.t.user('ops', ['ops']);
    await pipelineState.t.app.targets.add('admin', { name: 'db01', kind: 'postgres', host: '127.0.0.1', port: 5432, account: 'app', password: 'vaulted-db-secret' });
    await pipelineState.t.app.grants.adminGrant(pipelineState.t.admin, 'ops', 'db01', 30 * MIN, 'maintenance', null);
  });
  afterEach(() => pipelineState.t.close());
}

export function pipeline(over: Partial<PipelineDeps> = {}, creds = tracingCredentials(new StaticCredentials(pipelineState.t.app.creds), pipelineState.steps)): { p: SessionPipeline; creds: typeof creds } {
  const { app } = pipelineState.t;
  const p = new SessionPipeline({
    authorizer: decidingAuthorizer(app.decider, app.store, app.clock),
    journal: tracingJournal(storeJournal(app.store, app.audit, app.log), pipelineState.steps),
    credentials: creds, spanSealer: () => app.recordingKeys.ready(),
    live: app.live, scheduler: app.scheduler, clock: app.clock, log: app.log,
    recordingsDir: app.paths.recordings, liveRecordings: app.liveRecordings, gateRules: [],
    limits: { idleMs: { ssh: 0, postgres: 5 * MIN, mysql: 0, 'web-terminal': 0 }, maxSessionMs: 60 * MIN },
    openRecording: (dir, meta, now, onFailure, opts) => {
      pipelineState.steps.push('recording.open');
      return new (class extends SessionRecording {
        override end(reason: string): Promise<void> {
          pipelineState.steps.push(`recording.end:${reason}`);
          return super.end(reason);
        }
      })(dir, meta, now, onFailure, opts);
    },
    ...over,
  });
  return { p, creds };
}

export async function begin(over: Partial<PipelineDeps> = {}): Promise<{ adapter: TestAdapter; creds: ReturnType<typeof tracingCredentials>; id: string; settled: Promise<TerminationReason> }> {
  const { p, creds } = pipeline(over);
  const adapter = new TestAdapter(pipelineState.steps, pipelineState.ops);
  const handle = await p.start(adapter);
  expect(handle).not.toBeNull();
  return { adapter, creds, id: handle!.id, settled: handle!.settled };
}

export function meta(id: string): { end_reason?: string } {
  return JSON.parse(readFileSync(join(pipelineState.t.app.paths.recordings, id, 'meta.json'), 'utf8')) as { end_reason?: string };
}

export const STARTED = ['adapter.identify', 'journal.started', 'recording.open', 'credentials.issue', 'adapter.connect', 'adapter.relay'];
export const ENDED = (r: string): string[] => ['journal.statements:1', `journal.ended:${r}`, 'credentials.revoke', `recording.end:${r}`, 'journal.index'];


/** Ends a running session one way and checks the whole ordered life, revoke and seal included. */
export async function endsWith(reason: TerminationReason, act: (a: TestAdapter, id: string) => void | Promise<void>, over: Partial<PipelineDeps> = {}): Promise<TestAdapter> {
  const { adapter, creds, id, settled } = await begin(over);
  expect(pipelineState.steps).toEqual(STARTED);
  expect(adapter.secretSeen).toBe('vaulted-db-secret');
  await act(adapter, id);
  expect(await settled).toBe(reason);
  const told = reason === 'closed-by-client' ? [] : [`adapter.close:${reason}`];
  expect(pipelineState.steps).toEqual([...STARTED, ...told, ...ENDED(reason)]);
  expect(creds.revoked).toHaveLength(1);
  expect(creds.revoked[0]!.secret.every((b) => b === 0)).toBe(true);
  expect(meta(id).end_reason).toBe(reason);
  expect((await pipelineState.t.app.store.sessions.byId(id))?.endReason).toBe(reason);
  expect(pipelineState.t.app.live.size).toBe(0);
  expect(pipelineState.t.app.liveRecordings.size).toBe(0);
  return adapter;
}

export async function auditCodes(): Promise<string[]> {
  return (await pipelineState.t.app.audit.page(0, 10_000)).map((e) => e.code);
}

export async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
}

