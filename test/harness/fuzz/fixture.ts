// The fuzz environment: a real gateway (its whole log kept in a file, handshake timeouts shortened
// to 3 s so stalled inputs end within a run), real sshd, PostgreSQL 15 and MariaDB, a user "ops"
// with grants on all three, and the live sessions that must keep working while the listeners are
// fuzzed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../common.js';
import { type GatewayPeer, startGateway } from '../gateway.js';
import { type MariadbPeer, startMariadb } from '../mariadb.js';
import { type PostgresPeer, startPostgres } from '../postgres.js';
import { type SshdPeer, startSshd } from '../sshd.js';
import { THREE_TARGETS, provisionThreeTargets } from '../three-targets.js';

export const OPS_PASSWORD = THREE_TARGETS.opsPassword;

export interface FuzzEnv {
  gw: GatewayPeer;
  sshd: SshdPeer;
  pg: PostgresPeer;
  my: MariadbPeer;
  opsKey: string;
  logFile: string;
  stop(): Promise<void>;
}

export async function startFuzzEnv(): Promise<FuzzEnv> {
  const dir = tempDir('fuzz');
  const logFile = join(dir, 'gateway.log');
  const config = join(dir, 'portcullis.yaml');
  writeFileSync(config, 'ssh: { authTimeout: 3s }\npostgres: { handshakeTimeout: 3s }\nmysql: { handshakeTimeout: 3s }\n');
  const [gw, sshd, pg, my] = await Promise.all([startGateway({ config, logFile }), startSshd(), startPostgres(), startMariadb()]);
  const opsKey = provisionThreeTargets({ gw, sshd, pg, my }, dir, { for: '12h', reason: 'fuzz run' });
  return { gw, sshd, pg, my, opsKey, logFile, stop: async () => { await Promise.all([gw.stop(), sshd.stop(), pg.stop(), my.stop()]); } };
}
