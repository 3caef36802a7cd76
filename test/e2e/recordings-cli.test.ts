// Recordings through the API and the CLI: session show, export (asciinema plays it), play; views
// are audited; only investigators and admins get in; nothing outside the recording is reachable.
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, runOk } from '../harness/common.js';
import { type SshFixture, Tmux, latestClosedSession, startSshFixture } from '../harness/ssh-fixture.js';

let fx: SshFixture;
let sessionId = '';

beforeAll(async () => {
  fx = await startSshFixture();
  fx.grant('ops', 'web01', '30m');
  const t = Tmux.start(`ssh ${fx.sshOpts(['-tt', '-i', fx.opsKey, '-o', 'BatchMode=yes']).join(' ')} ops+web01@127.0.0.1`);
  try {
    await t.waitFor(/\$\s*$/m);
    t.send('echo "recorded-$((6*7))"');
    await t.waitFor(/recorded-42/);
    t.send('exit');
    // The gateway's record of the end (tmux can be slow to see the exit), with the recording closed.
    sessionId = await latestClosedSession(fx.gw);
  } finally {
    t.kill();
  }
  fx.gw.admin(['user', 'add', 'ivy', '--role', 'investigator', '--password-stdin'], 'ivy-Password-1\n');
  fx.gw.login('ivy', 'ivy-Password-1');
  fx.gw.login('ops', 'ops-Password-1');
}, 120_000);

afterAll(async () => { await fx?.stop(); });

describe('recordings from the CLI', () => {
  it('shows a session with its recording files', () => {
    const d = JSON.parse(fx.gw.as('ivy', ['session', 'show', sessionId, '--json']).stdout) as { user: string; end_reason: string; recording: Array<{ file: string }> };
    expect(d).toMatchObject({ user: 'ops', end_reason: 'closed-by-client' });
    // Files are created with their first line: this shell had no structured event, so no events.ndjson.
    expect(d.recording.map((f) => f.file)).toEqual(expect.arrayContaining(['ch-1.cast', 'meta.json']));
  });

  it('exports asciicast v2 that asciinema plays, and audits the view', () => {
    const r = fx.gw.as('ivy', ['export', sessionId]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.split('\n')[0]!)).toMatchObject({ version: 2 });
    const file = join(fx.dir, 'exported.cast');
    writeFileSync(file, r.stdout);
    const asciinema = requireBinary('asciinema', 'asciinema');
    expect(runOk('script', ['-qec', `${asciinema} cat ${file}`, '/dev/null'])).toMatch(/recorded-42/);
    expect(fx.gw.admin(['audit', 'export']).stdout).toMatch(new RegExp(`"code":"recording.viewed".*"by":"ivy".*"file":"ch-1.cast".*"session":"${sessionId}"`));
  });

  it('plays a session in the terminal', () => {
    const r = fx.gw.as('ivy', ['play', sessionId, '--speed', '1000', '--skip-idle']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/recorded-42/);
  });

  it('keeps recordings from users who are not investigators, and anything outside the recording from everyone', () => {
    expect(fx.gw.as('ops', ['export', sessionId]).stderr).toMatch(/needs role: admin or investigator.*\(forbidden\)/);
    expect(fx.gw.as('ivy', ['export', 'ses_nope']).stderr).toMatch(/no session "ses_nope"/);
    expect(fx.gw.as('ivy', ['play', sessionId, '--channel', '9']).stderr).toMatch(/no channel 9/);
  });

  it('serves only the files the recorder writes, whatever the path says', async () => {
    const token = readFileSync(join(fx.gw.dataDir, 'admin.token'), 'utf8').trim();
    for (const file of ['..%2F..%2Fstate.db', '..%2Fmaster.key', 'meta.json%00.cast', 'ch-1.cast.bak']) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(new URL(`/api/v1/sessions/${sessionId}/recording/${file}`, fx.gw.url), { ca: readFileSync(fx.gw.caFile), headers: { authorization: `Bearer ${token}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      expect(status, file).toBe(400);
    }
  });
});
