// A user looping a denied statement does not flood the audit chain (a serialized, cluster-wide
// write per entry): the first GATED_AUDITED_PER_RULE verdicts of each rule are audited, the rest
// become one summary entry with their count when the session ends; the recording keeps every one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GateRule } from '../../gateway/session/gate.js';
import { GATED_AUDITED_PER_RULE } from '../../gateway/session/gated-audit.js';
import { begin, pipelineState, usePipelineApp } from '../support/pipeline-fixture.js';

usePipelineApp();

const RULES: GateRule[] = [{
  name: 'no-drop',
  check: (cmd) => (cmd.kind === 'sql' && /drop/i.test(cmd.text) ? { verdict: 'deny', message: 'DROP is not allowed', rule: 'no-drop' }
    : cmd.kind === 'sql' && /password/i.test(cmd.text) ? { verdict: 'deny', message: 'no role changes', rule: 'no-grant' }
    : cmd.kind === 'sql' && /delete/i.test(cmd.text) ? { verdict: 'flag', label: 'delete', rule: 'no-drop' } : null),
}];

describe('gated audit entries under a flood', () => {
  it('audits the first verdicts per rule, then one count at the end; the recording has all', async () => {
    const { app } = pipelineState.t;
    const { adapter, id, settled } = await begin({ gateRules: RULES });
    for (let i = 0; i < 500; i++) expect(adapter.statement(`DROP TABLE t${i}`)).toBe('deny');
    for (let i = 0; i < 3; i++) expect(adapter.statement(`DELETE FROM t${i}`)).toBe('flag');
    await new Promise((r) => setTimeout(r, 50));
    const gatedNow = (await app.store.audit.page(0, 10_000)).filter((a) => a.code === 'session.gated');
    expect(gatedNow).toHaveLength(GATED_AUDITED_PER_RULE + 3);
    adapter.ctx!.ended('closed-by-client');
    await settled;
    const gated = (await app.store.audit.page(0, 10_000)).filter((a) => a.code === 'session.gated');
    expect(gated).toHaveLength(GATED_AUDITED_PER_RULE + 3 + 1);
    const last = JSON.stringify(gated.at(-1));
    expect(last).toContain(`${500 - GATED_AUDITED_PER_RULE} more denials by this rule`);
    expect(last).toContain('no-drop');
    const events = readFileSync(join(app.paths.recordings, id, 'events.ndjson'), 'utf8');
    expect(events.match(/"kind":"gate","verdict":"deny"/g)).toHaveLength(500);
    expect(events.match(/"kind":"gate","verdict":"flag"/g)).toHaveLength(3);
  });

  it("a denied statement's password stays in the recording, out of the audit entry", async () => {
    const { app } = pipelineState.t;
    const { adapter, id, settled } = await begin({ gateRules: RULES });
    expect(adapter.statement("ALTER ROLE bob PASSWORD 'hunter2 two'")).toBe('deny');
    adapter.ctx!.ended('closed-by-client');
    await settled;
    const gated = (await app.store.audit.page(0, 10_000)).filter((a) => a.code === 'session.gated');
    expect(JSON.stringify(gated)).toContain("PASSWORD '…'");
    expect(JSON.stringify(gated)).not.toContain('hunter2');
    expect(readFileSync(join(app.paths.recordings, id, 'events.ndjson'), 'utf8')).toContain('hunter2');
  });
});
