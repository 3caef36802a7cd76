// A gateway killed with `kill -9` mid-session (SSH, PostgreSQL and MySQL at once) and started again
// on the same data dir: the sessions the dead process left open end with `gateway-crashed` in the
// store, the audit log and meta.json, `audit verify` passes, and the recordings hold what was typed
// and shown up to about 1 s before the kill (the FileSink's flush interval). Real OpenSSH under
// tmux, psql and mariadb → the built gateway → real sshd, PostgreSQL 15 and MariaDB.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvent, parseHeader } from '../../recorder/asciicast-reader.js';
import { RecordingLayout, recordingsRoot } from '../../recorder/layout.js';
import { readRecordingMeta } from '../../recorder/meta.js';
import { requireBinary, tempDir, waitFor } from '../harness/common.js';
import { type GatewayPeer, json, startGateway } from '../harness/gateway.js';
import { type MariadbPeer, startMariadb } from '../harness/mariadb.js';
import { readStatements } from '../harness/pg-fixture.js';
import { PipedClient } from '../harness/piped-client.js';
import { type PostgresPeer, startPostgres } from '../harness/postgres.js';
import { Tmux } from '../harness/ssh-fixture.js';
import { type SshdPeer, startSshd } from '../harness/sshd.js';
import { THREE_TARGETS, provisionThreeTargets } from '../harness/three-targets.js';

const OPS_PASSWORD = THREE_TARGETS.opsPassword;

let gw: GatewayPeer;
let sshd: SshdPeer;
let pg: PostgresPeer;
let my: MariadbPeer;
let opsKey: string;

beforeAll(async () => {
  [gw, sshd, pg, my] = await Promise.all([startGateway(), startSshd(), startPostgres(), startMariadb()]);
  opsKey = provisionThreeTargets({ gw, sshd, pg, my }, tempDir('crashfx'), { for: '30m', reason: 'crash test' });
}, 180_000);

afterAll(async () => { await Promise.all([gw?.stop(), sshd?.stop(), pg?.stop(), my?.stop()]); });

interface SessionRow { id: string; protocol: string; ended_at: string | null; end_reason: string | null }
const sessions = (): SessionRow[] => json<SessionRow[]>(gw.admin(['session', 'list', '--json']));

/** Every whole line of a cast (header, then events); a torn last line is the one thing tolerated. */
function castText(dataDir: string, id: string): string {
  const layout = RecordingLayout.of(recordingsRoot(dataDir), id);
  const [n] = layout.castChannels();
  expect(n).toBeDefined();
  const text = readFileSync(layout.cast(n!), 'utf8');
  const lines = text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean);
  expect(parseHeader(lines[0]!).version).toBe(2);
  return lines.slice(1).map((l) => {
    const e = parseEvent(l);
    if (!e) throw new Error(`unreadable cast line: ${l}`);
    return e[1] === 'o' ? e[2] : '';
  }).join('');
}

describe('kill -9 of the gateway mid-session', () => {
  it('closes SSH, PostgreSQL and MySQL sessions with gateway-crashed on the next start, audited, with their recordings kept', async () => {
    const ssh = `ssh -tt -p ${gw.ports.ssh} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -i ${opsKey} ops+web01@127.0.0.1`;
    const term = Tmux.start(ssh, { cols: 100, rows: 30 });
    const psql = new PipedClient(requireBinary('postgresql-client-15', 'psql'), [
      '-X', '-A', '-t', `host=127.0.0.1 port=${gw.ports.postgres} user=ops+orders-db dbname=orders sslmode=require connect_timeout=10`,
    ], { PGPASSWORD: OPS_PASSWORD });
    const mariadb = new PipedClient(requireBinary('mariadb-client', 'mariadb'), [
      '--no-defaults', '-h', '127.0.0.1', '-P', String(gw.ports.mysql), '-u', 'ops+shop-db', `-p${OPS_PASSWORD}`, '--ssl',
      '--batch', '--skip-reconnect', '--unbuffered',
    ]);
    try {
      await term.waitFor(/\$\s*$/m);
      term.send('echo "typed-before-crash-$((6*7))"');
      await term.waitFor(/^typed-before-crash-42$/m);
      psql.type("select 'pg-before-' || (40 + 2) as marker;");
      await psql.waitFor(/^pg-before-42$/m);
      mariadb.type("select concat('my-before-', 40 + 2) as marker;");
      await mariadb.waitFor(/my-before-42/);
      const live = sessions().filter((s) => s.end_reason === null);
      expect(live.map((s) => s.protocol).sort()).toEqual(['mysql', 'postgres', 'ssh']);

      // Then activity up to the kill: the shell prints the time every 100 ms and both database
      // clients run a statement naming the time every 100 ms.
      term.send('while :; do echo "tick-$(date +%s%3N)"; sleep 0.1; done');
      const ticker = setInterval(() => {
        psql.type(`select 'pg-tick-${Date.now()}';`);
        mariadb.type(`select 'my-tick-${Date.now()}';`);
      }, 100);
      // Longer than the sink's 1 s flush: what was shown above is on disk when serve dies.
      await new Promise((r) => setTimeout(r, 1_500));
      const killedAt = Date.now();
      await gw.crash();
      clearInterval(ticker);
      // Nothing booked the ends (the CLI cannot ask the dead API; the recordings say it too).
      for (const s of live) expect(readRecordingMeta(RecordingLayout.inDataDir(gw.dataDir, s.id).meta)?.end_reason, s.protocol).toBeUndefined();
      await gw.restart();

      const after = sessions();
      for (const s of live) {
        expect(after.find((a) => a.id === s.id), s.protocol).toMatchObject({ end_reason: 'gateway-crashed' });
        expect(after.find((a) => a.id === s.id)?.ended_at).not.toBeNull();
        const meta = readRecordingMeta(RecordingLayout.inDataDir(gw.dataDir, s.id).meta);
        expect(meta, s.protocol).toMatchObject({ session: s.id, end_reason: 'gateway-crashed' });
      }
      const audit = gw.admin(['audit', 'export']).stdout.split('\n').filter(Boolean)
        .map((l) => JSON.parse(l) as { code: string; data: { session?: string; reason?: string } });
      const ended = audit.filter((e) => e.code === 'session.ended');
      expect(ended.map((e) => e.data.session).sort()).toEqual(live.map((s) => s.id).sort());
      expect(ended.every((e) => e.data.reason === 'gateway-crashed')).toBe(true);
      const verify = gw.admin(['audit', 'verify']);
      expect(verify.code, verify.stderr).toBe(0);

      const sshId = live.find((s) => s.protocol === 'ssh')!.id;
      expect(castText(gw.dataDir, sshId)).toContain('typed-before-crash-42');
      const texts = readStatements(gw.dataDir).map((r) => JSON.stringify(r));
      expect(texts.some((t) => t.includes("'pg-before-' || (40 + 2)"))).toBe(true);
      expect(texts.some((t) => t.includes("concat('my-before-', 40 + 2)"))).toBe(true);

      // What each recording lost: the time from its last recorded tick to the kill. The sink
      // flushes every 1 s and ticks come every 100 ms, so at most about 1.1 s (plus scheduling).
      const lastTick = (text: string, re: RegExp): number => Math.max(0, ...[...text.matchAll(re)].map((m) => Number(m[1])));
      const gaps = {
        ssh: killedAt - lastTick(castText(gw.dataDir, sshId), /tick-(\d{13})/g),
        postgres: killedAt - lastTick(texts.join('\n'), /pg-tick-(\d{13})/g),
        mysql: killedAt - lastTick(texts.join('\n'), /my-tick-(\d{13})/g),
      };
      console.log(`crash: ms of activity lost before the kill per recording: ${JSON.stringify(gaps)}`);
      for (const [protocol, gap] of Object.entries(gaps)) expect(gap, protocol).toBeLessThanOrEqual(1_350);

      // The restarted gateway serves: a new psql session works and ends normally.
      const again = new PipedClient(requireBinary('postgresql-client-15', 'psql'), [
        '-X', '-A', '-t', `host=127.0.0.1 port=${gw.ports.postgres} user=ops+orders-db dbname=orders sslmode=require connect_timeout=10`,
      ], { PGPASSWORD: OPS_PASSWORD });
      again.type('select 6 * 7;');
      await again.waitFor(/^42$/m);
      expect(await again.end()).toBe(0);
      await waitFor('the new session to end normally', () => sessions().some((s) => s.end_reason === 'closed-by-client'), 20_000);
      expect(existsSync(join(gw.dataDir, 'serve.json'))).toBe(true);
    } finally {
      term.kill();
      void psql.end();
      void mariadb.end();
    }
  }, 180_000);
});
