// A real `portcullis serve` for end-to-end tests: `init` into a temp data dir, then the built CLI
// as a child process on free loopback ports, with its JSON log captured for secret scans.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, run, startProc, tempDir, waitFor, type Proc } from './common.js';

const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/portcullis.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface GatewayPeer {
  dataDir: string;
  url: string;
  caFile: string;
  ports: { https: number; ssh: number; postgres: number; mysql: number };
  /** The gateway's log so far (stdout and stderr of serve). */
  log(): string;
  /** Runs the CLI as the admin (--data). */
  admin(args: string[], stdin?: string): CliResult;
  /** Runs the CLI as a logged-in user whose session lives in its own PORTCULLIS_HOME. */
  as(user: string, args: string[], stdin?: string): CliResult;
  login(user: string, password: string, totp?: string): CliResult;
  stop(): Promise<void>;
}

export function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): CliResult {
  if (!existsSync(join(ROOT, 'dist/gateway/cli/main.js'))) throw new Error('dist/ is missing: run "npm run build" first (npm test does)');
  const r = run(process.execPath, [BIN, ...args], { env: { ...process.env, ...opts.env }, input: opts.stdin ?? '' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export async function startGateway(opts: { env?: NodeJS.ProcessEnv; config?: string } = {}): Promise<GatewayPeer> {
  const dir = tempDir('gw');
  const dataDir = join(dir, 'data');
  const homes = join(dir, 'homes');
  const baseEnv: NodeJS.ProcessEnv = { ...opts.env, PORTCULLIS_HOME: join(homes, '_admin'), PORTCULLIS_DATA: '' };
  const init = cli(['init', '--data', dataDir], { env: baseEnv });
  if (init.code !== 0) throw new Error(`portcullis init failed: ${init.stderr}`);
  const ports = { https: await freePort(), ssh: await freePort(), postgres: await freePort(), mysql: await freePort() };
  const env = {
    ...process.env, ...baseEnv, PORTCULLIS_LOG_LEVEL: 'debug', PORTCULLIS_HTTP_PORT: String(ports.https),
    PORTCULLIS_SSH_PORT: String(ports.ssh), PORTCULLIS_POSTGRES_PORT: String(ports.postgres), PORTCULLIS_MYSQL_PORT: String(ports.mysql),
  };
  const proc: Proc = startProc(process.execPath, [BIN, 'serve', '--data', dataDir, ...(opts.config ? ['--config', opts.config] : [])], { env });
  const info = join(dataDir, 'serve.json');
  await waitFor('portcullis serve', () => existsSync(info), 30_000, proc);
  const url = (JSON.parse(readFileSync(info, 'utf8')) as { url: string }).url;
  const userEnv = (user: string): NodeJS.ProcessEnv => ({ ...opts.env, PORTCULLIS_HOME: join(homes, user), PORTCULLIS_DATA: dataDir });
  return {
    dataDir, url, ports, caFile: join(dataDir, 'certs/ca.crt'),
    log: () => proc.output(),
    admin: (args, stdin) => cli([...args, '--data', dataDir], { env: baseEnv, stdin }),
    as: (user, args, stdin) => cli(args, { env: userEnv(user), stdin }),
    login: (user, password, totp) => cli(['login', '--user', user, '--password-stdin'], { env: userEnv(user), stdin: `${password}\n${totp ?? ''}\n` }),
    stop: async () => {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function json<T>(r: CliResult): T {
  if (r.code !== 0) throw new Error(`CLI failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
