// npm run demo: a throwaway OpenSSH server (the test harness's), a gateway in a temp dir in front of
// it, a demo user with a 15-minute grant, and the one ssh line to try. Ctrl-C stops everything.
// Needs root (the harness creates the OS account the throwaway sshd logs in as).
import { startGateway } from '../test/harness/gateway.js';
import { addDemoAccess, startDemoTargets } from './demo-targets.js';

const targets = await startDemoTargets();
const { sshd, pg, maria } = targets;
const gw = await startGateway({ env: { PORTCULLIS_WARN_BEFORE: '60s' } });
addDemoAccess(targets, (args, stdin) => gw.admin(args, stdin));
// A human admin for the web console (the CLI's admin is a token, not an account one can sign in as).
const CONSOLE_ADMIN = 'demo-admin';
const CONSOLE_PASSWORD = 'demo-admin-password-1';
const added = gw.admin(['user', 'add', CONSOLE_ADMIN, '--role', 'admin', '--password-stdin'], `${CONSOLE_PASSWORD}\n`);
if (added.code !== 0) throw new Error(`demo: could not add ${CONSOLE_ADMIN}: ${added.stderr}`);

process.stdout.write(`
Portcullis demo is running.

  Console:  ${gw.url}/   (the gateway's own CA: your browser warns once; CA cert ${gw.dataDir}/certs/ca.crt)
            sign in as ${CONSOLE_ADMIN} / ${CONSOLE_PASSWORD} (admin), or demo / demo-password-1 (the requester)

  ssh -p ${gw.ports.ssh} -o StrictHostKeyChecking=no demo+web01@127.0.0.1      (password: demo-password-1)
  psql "host=127.0.0.1 port=${gw.ports.postgres} user=demo+orders-db dbname=orders sslmode=require"   (same password)
  mariadb -h 127.0.0.1 -P ${gw.ports.mysql} -u demo+shop-db -p --ssl                              (same password)

The demo user holds 15-minute grants to web01 (a throwaway OpenSSH server on port ${sshd.port}),
orders-db (a throwaway PostgreSQL on port ${pg.port}) and shop-db (a throwaway MariaDB on port
${maria.port}); the gateway logs in to each with a vaulted password the user never sees. Every SQL
statement is recorded. You are warned a minute before the
grant ends and cut off when it does. Recordings: ${gw.dataDir}/recordings
Admin CLI:  node bin/portcullis.js session list --data ${gw.dataDir}

Ctrl-C to stop.
`);

const stop = async (): Promise<void> => {
  await Promise.all([gw.stop(), targets.stop()]);
  process.exit(0);
};
process.once('SIGINT', () => { void stop(); });
process.once('SIGTERM', () => { void stop(); });
