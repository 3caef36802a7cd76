// The session pipeline, in process (test/support/pipeline-fixture.ts): the order of the steps, and
// that on every ending — expiry, revocation, kill, idle, length, target close, recording failure,
// budget and storage watermark — the credential is revoked once and the recording sealed with the reason.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { PipelineDeps } from '../../gateway/session/pipeline.js';
import type { TerminationReason } from '../../gateway/session/termination.js';
import type { UserRecord } from '../../gateway/store/records.js';
import { TestAdapter } from '../support/pipeline-tracing.js';
import { begin, endsWith, ENDED, meta, MIN, pipeline, pipelineState, STARTED, usePipelineApp } from '../support/pipeline-fixture.js';
import type { TestApp } from '../support/test-app.js';

usePipelineApp();
let t: TestApp;
let steps: string[];
let ops: UserRecord;
beforeEach(() => ({ t, steps, ops } = pipelineState));

describe('the session pipeline: how sessions end', () => {
  it('runs identify, start, record, issue, connect, relay in order, and ends on client close', async () => {
    await endsWith('closed-by-client', (a) => a.ctx!.ended('closed-by-client'));
  });

  it('ends at grant expiry after the warning, on the injected clock', async () => {
    await endsWith('grant-expired', () => {
      t.clock.advance(29 * MIN);
      expect(steps.at(-1)).toBe('adapter.warn:Portcullis: your access to db01 ends in 60 s');
      steps.pop();
      t.clock.advance(MIN);
    }, { limits: { idleMs: { ssh: 0, postgres: 0, mysql: 0, 'web-terminal': 0 }, maxSessionMs: 0 } });
  });

  it('ends at once when the grant is revoked', async () => {
    await endsWith('grant-revoked', async () => {
      const g = (await t.app.grants.list({ active: true }))[0]!;
      await t.app.grants.revoke(t.admin, g.id, 'incident');
    });
  });

  it('ends when an admin kills the session', async () => {
    await endsWith('killed-by-admin', (_a, id) => { expect(t.app.live.close(id, 'killed-by-admin')).toBe(true); });
  });

  it('ends after the idle timeout, and activity moves it', async () => {
    await endsWith('idle-timeout', (a) => {
      t.clock.advance(4 * MIN);
      expect(a.statement('select now()')).toBe('allow');
      t.clock.advance(4 * MIN);
      expect(steps).toEqual(STARTED);
      t.clock.advance(MIN);
    });
  });

  it('ends as closed by the client when a client that went away does not come back in time', async () => {
    await endsWith('closed-by-client', (a) => {
      a.ctx!.clientAway(30_000);
      t.clock.advance(20_000);
      a.ctx!.clientBack();
      t.clock.advance(60_000);
      expect(steps).toEqual(STARTED);
      a.ctx!.clientAway(30_000);
      t.clock.advance(30_000);
    });
  });

  it('ends at the maximum session length', async () => {
    await endsWith('max-session-length', (a) => {
      for (let i = 0; i < 3; i++) { t.clock.advance(4 * MIN); a.statement('select 1'); }
      t.clock.advance(3 * MIN);
    }, { limits: { idleMs: { ssh: 0, postgres: 5 * MIN, mysql: 0, 'web-terminal': 0 }, maxSessionMs: 15 * MIN } });
  });

  it('ends when the target closes the connection', async () => {
    await endsWith('upstream-closed', (a) => a.ctx!.ended('upstream-closed'));
  });

  it('ends, fail-closed, when the recorder fails to write mid-session', async () => {
    const { p } = pipeline();
    const real = (p as unknown as { deps: PipelineDeps }).deps.openRecording!;
    await endsWith('recording-failed', () => {}, {
      // The statement log cannot be created (a directory is in its place): a real write failure,
      // reported by the recorder when the adapter records its first statement.
      openRecording: (dir, m, now, onFailure, opts) => {
        mkdirSync(join(dir, 'statements.ndjson'), { recursive: true });
        return real(dir, m, now, onFailure, opts);
      },
    });
  });

  it('ends, fail-closed, when masked input cannot be sealed (the recording key could not be loaded), instead of dropping it', async () => {
    await endsWith('recording-failed', (a) => {
      const term = a.ctx!.taps.terminal({ width: 80, height: 24 });
      term.output(Buffer.from('Password: '));
      term.input(Buffer.from('rm -rf /srv\r'));
    }, { spanSealer: () => Promise.reject(new Error('store unavailable')) });
  });

  it('ends, fail-closed, when the adapter cannot record what the policy requires (e.g. unparseable SFTP)', async () => {
    await endsWith('recording-failed', (a) => a.ctx!.recordingFailed('unparseable SFTP from the client'));
  });

  it('goes on when recording fails and the policy says recording is optional', async () => {
    await t.app.targets.add('admin', { name: 'db02', kind: 'postgres', host: '127.0.0.1', port: 5432, account: 'app', password: 'vaulted-db-secret' });
    await t.app.policies.add('admin', {
      name: 'db02-unrecorded', roles: ['ops'], targets: ['db02'], targetTags: [], maxDurationMs: 3_600_000, requireReason: false,
      ticketPattern: null, approvalsRequired: 0, approverRoles: [], autoApprove: null, breakglass: false,
      recordKeystrokes: true, allowPortForwarding: false, captureFullOutput: false, recordingRequired: false, allowLinks: false, levels: [],
    });
    await t.app.requests.create(ops, { target: 'db02', durationMs: 30 * MIN, reason: 'optional recording' });
    const { p } = pipeline();
    const adapter = new TestAdapter(steps, ops, 'db02');
    const handle = (await p.start(adapter))!;
    expect(adapter.ctx!.policy.recordingRequired).toBe(false);
    adapter.ctx!.recordingFailed('unparseable SFTP from the client');
    expect(handle.isEnded).toBe(false);
    adapter.ctx!.ended('closed-by-client');
    expect(await handle.settled).toBe('closed-by-client');
  });

  it('ends with recording-budget once the recording reaches its byte budget, the write that reached it kept', async () => {
    // The relay's first statement alone is past a 10-byte budget: the end comes right after it,
    // once the relay's handler returned (never from inside the tap).
    const { adapter, creds, id, settled } = await begin({ recordingBudgetBytes: 10 });
    expect(await settled).toBe('recording-budget');
    expect(steps).toEqual([...STARTED, 'adapter.close:recording-budget', ...ENDED('recording-budget')]);
    expect(adapter.upstream?.open).toBe(false);
    expect(creds.revoked).toHaveLength(1);
    expect(meta(id).end_reason).toBe('recording-budget');
    const dir = join(t.app.paths.recordings, id);
    expect(readFileSync(join(dir, 'statements.ndjson'), 'utf8')).toContain('select 1');
    expect(readFileSync(join(dir, 'events.ndjson'), 'utf8')).toContain('"kind":"recording-stopped","cause":"budget"');
  });

  it('refuses a new session in storage words while the recordings volume is below its watermark: no books, no recording, no credential', async () => {
    const refusals: unknown[] = [];
    const { p } = pipeline({ recordingSpace: { refusal: 'the recordings volume is almost full', wrote: () => {}, measure: () => Promise.resolve() } });
    const adapter = new (class extends TestAdapter {
      override refuse(r: Parameters<TestAdapter['refuse']>[0]): void { refusals.push(r); super.refuse(r); }
    })(steps, ops);
    expect(await p.start(adapter)).toBeNull();
    expect(steps).toEqual(['adapter.identify', 'adapter.refuse:access']);
    expect(refusals[0]).toMatchObject({ kind: 'access', error: { code: 'storage-full', message: 'the recordings volume is almost full' } });
    expect(await t.app.store.sessions.list({})).toHaveLength(0);
  });

  it('ends a session that must be recorded with recording-failed and the volume message when the volume falls below its watermark', async () => {
    const { p } = pipeline();
    const closes: string[] = [];
    const adapter = new (class extends TestAdapter {
      override close(reason: TerminationReason, message?: string): void { closes.push(message ?? ''); super.close(reason); }
    })(steps, ops);
    const handle = (await p.start(adapter))!;
    p.recordingSpaceLow('the recordings volume is almost full (1.0 MiB free, needs 5.0 MiB)');
    expect(await handle.settled).toBe('recording-failed');
    expect(closes).toEqual(['Portcullis: the recordings volume is almost full (1.0 MiB free, needs 5.0 MiB)']);
    expect(meta(handle.id).end_reason).toBe('recording-failed');
  });

  it('stops recording, and goes on, a session whose policy makes recording optional when the volume falls below its watermark', async () => {
    await t.app.targets.add('admin', { name: 'db02', kind: 'postgres', host: '127.0.0.1', port: 5432, account: 'app', password: 'vaulted-db-secret' });
    await t.app.policies.add('admin', {
      name: 'db02-unrecorded', roles: ['ops'], targets: ['db02'], targetTags: [], maxDurationMs: 3_600_000, requireReason: false,
      ticketPattern: null, approvalsRequired: 0, approverRoles: [], autoApprove: null, breakglass: false,
      recordKeystrokes: true, allowPortForwarding: false, captureFullOutput: false, recordingRequired: false, allowLinks: false, levels: [],
    });
    await t.app.requests.create(ops, { target: 'db02', durationMs: 30 * MIN, reason: 'optional recording' });
    const { p } = pipeline();
    const adapter = new TestAdapter(steps, ops, 'db02');
    const handle = (await p.start(adapter))!;
    p.recordingSpaceLow('the recordings volume is almost full');
    expect(handle.isEnded).toBe(false);
    const rec = t.app.liveRecordings.get(handle.id)!;
    expect(rec.stopped).toBe('space');
    const before = rec.bytes;
    adapter.ctx!.taps.statement({ sql: 'select 2' });
    expect(rec.bytes).toBe(before);
    adapter.ctx!.ended('closed-by-client');
    expect(await handle.settled).toBe('closed-by-client');
    const events = readFileSync(join(t.app.paths.recordings, handle.id, 'events.ndjson'), 'utf8');
    expect(events).toContain('"kind":"recording-stopped","cause":"space"');
    expect(readFileSync(join(t.app.paths.recordings, handle.id, 'statements.ndjson'), 'utf8')).not.toContain('select 2');
  });

  it('ends only its own session when the adapter throws mid-relay', async () => {
    await endsWith('adapter-error', (a) => {
      const handler = a.ctx!.guard((_d: Buffer) => { throw new Error('bug in a relay handler'); });
      expect(() => handler(Buffer.from('x'))).not.toThrow();
    });
  });

  it('ends only the session whose adapter failed to start relaying, and leaves another running', async () => {
    const { p } = pipeline();
    const healthy = new TestAdapter(steps, ops);
    const other = (await p.start(healthy))!;
    const broken = new TestAdapter([], ops);
    broken.relay = (): void => { throw new Error('bug while wiring the relay'); };
    const failed = (await p.start(broken))!;
    expect(await failed.settled).toBe('adapter-error');
    expect(other.isEnded).toBe(false);
    expect(t.app.live.size).toBe(1);
    healthy.ctx!.ended('closed-by-client');
    expect(await other.settled).toBe('closed-by-client');
    expect(meta(failed.id).end_reason).toBe('adapter-error');
  });

  it('ends every session at gateway shutdown', async () => {
    await endsWith('gateway-shutdown', () => t.app.live.closeAll('gateway-shutdown'));
  });
});
