// The risk watch in the real session pipeline (test adapter, real store, audit and recording on a
// fake clock): gate verdicts become one flag per rule however often they hit, rows the recording
// sees and bytes the adapter sends count towards a mass export, and each flag is a marker and an
// event in the recording, an audit entry and an access event (the webhook's source).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AccessEvents } from '../../gateway/access/events.js';
import { defaultConfig } from '../../gateway/config/config.js';
import { FlagSink } from '../../gateway/risk/flag-sink.js';
import { RiskService } from '../../gateway/risk/risk-service.js';
import { riskSettings } from '../../gateway/risk/risk-settings.js';
import type { GateRule } from '../../gateway/session/gate.js';
import { begin, pipelineState, usePipelineApp } from '../support/pipeline-fixture.js';

usePipelineApp();

const NO_DROP: GateRule = {
  name: 'no-drop',
  check: (cmd) => (cmd.kind === 'sql' && /drop/i.test(cmd.text) ? { verdict: 'deny', message: 'DROP is not allowed', rule: 'no-drop' } : null),
};

function risk(over: Partial<ReturnType<typeof riskSettings>> = {}): RiskService {
  const { app } = pipelineState.t;
  return new RiskService({
    store: app.store, sink: new FlagSink({ store: app.store, audit: app.audit, events: app.events, log: app.log, clock: app.clock }),
    settings: { ...riskSettings(defaultConfig('/tmp')), ...over }, log: app.log, recentFailures: () => 0, failureWindowMs: 600_000,
  });
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

describe('risk in the session pipeline', () => {
  it('turns 500 denials of one rule into one flag, one audit entry and one event, and the session goes on', async () => {
    const { app } = pipelineState.t;
    const seen: Array<AccessEvents['session.flagged']> = [];
    app.events.on('session.flagged', (e) => seen.push(e));
    const { adapter, id, settled } = await begin({ gateRules: [NO_DROP], risk: risk() });
    for (let i = 0; i < 500; i++) expect(adapter.statement(`DROP TABLE t${i}`)).toBe('deny');
    await settle();
    const flags = await app.store.sessions.flags(id);
    expect(flags.filter((f) => f.kind === 'rule').map((f) => [f.key, f.detail])).toEqual([['no-drop', 'deny by no-drop: simple: DROP TABLE t0']]);
    // ops has no earlier session on db01: first use too.
    expect(flags.map((f) => f.kind).sort()).toEqual(['first-use', 'rule']);
    expect((await app.store.sessions.byId(id))?.riskScore).toBe(35);
    const audit = await app.store.audit.page(0, 10_000);
    expect(audit.filter((a) => a.code === 'session.flagged')).toHaveLength(2);
    expect(seen.map((e) => e.flag).sort()).toEqual(['first-use', 'rule']);
    adapter.ctx!.ended('closed-by-client');
    await settled;
    const events = readFileSync(join(app.paths.recordings, id, 'events.ndjson'), 'utf8');
    expect(events.match(/"kind":"flag","flag":"rule"/g)).toHaveLength(1);
    expect(events).toMatch(/flagged rule: deny by no-drop/);
  });

  it('flags a mass export from the rows the recording sees and the bytes the adapter sends, once', async () => {
    const { app } = pipelineState.t;
    const { adapter, id, settled } = await begin({ risk: risk({ exportRows: 0, exportBytes: 10_000 }) });
    const ctx = adapter.ctx!;
    expect(typeof ctx.sentToClient).toBe('function');
    for (let i = 0; i < 20; i++) ctx.sentToClient?.(1000);
    await settle();
    const flags = (await app.store.sessions.flags(id)).filter((f) => f.kind === 'mass-export');
    expect(flags.map((f) => f.detail)).toEqual(['10000 bytes sent to the client (threshold 10000)']);
    adapter.ctx!.ended('closed-by-client');
    await settled;
  });

  it('without a risk scorer, or with bytes not scored, adapters get no byte counter (nothing on the relay path)', async () => {
    for (const over of [{}, { risk: risk({ exportBytes: 0 }) }]) {
      const { adapter, settled } = await begin(over);
      expect('sentToClient' in adapter.ctx!).toBe(false);
      adapter.ctx!.ended('closed-by-client');
      await settled;
    }
  });
});
