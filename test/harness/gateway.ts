// A real `portcullis serve` for end-to-end tests: `init` into a temp data dir, then the built CLI
// as a child process on free loopback ports, with its JSON log captured for secret scans.
import { cpSync, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { run, startProc, tempDir, waitFor, type Proc } from './common.js';

// The repository root, whether this runs from test/harness (vitest) or dist/test/harness (demo).
function findRoot(dir: string): string {
  for (let d = dir; d !== dirname(d); d = dirname(d)) if (existsSync(join(d, 'package.json'))) return d;
  throw new Error(`no package.json above ${dir}`);
}
const ROOT = findRoot(resolve(import.meta.dirname));
export const BIN = join(ROOT, 'bin/portcullis.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface GatewayPeer {
  dataDir: string;
  url: string;
  /** The serve process (for memory checks). */
  pid: number;
  caFile: string;
  /** Bound ports as serve reports them (0 for a listener not running yet). */
  ports: { https: number; ssh: number; postgres: number; mysql: number };
  /** The gateway's log so far (stdout and stderr of serve). */
  log(): string;
  /** Runs the CLI as the admin (--data). */
  admin(args: string[], stdin?: string): CliResult;
  /** Runs the CLI as a logged-in user whose session lives in its own PORTCULLIS_HOME. */
  as(user: string, args: string[], stdin?: string): CliResult;
  login(user: string, password: string, totp?: string): CliResult;
  /** `kill -9` of serve: no drain, no session ends booked (crash tests). */
  crash(): Promise<void>;
  /** SIGTERM to serve and wait for it to exit (a clean drain); the data dir stays for inspection. */
  halt(): Promise<void>;
  /** Starts serve again on the same data dir; url, ports and pid change to the new process's. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): CliResult {
  if (!existsSync(join(ROOT, 'dist/gateway/cli/main.js'))) throw new Error('dist/ is missing: run "npm run build" first (npm test does)');
  const r = run(process.execPath, [BIN, ...args], { env: { ...process.env, ...opts.env }, input: opts.stdin ?? '' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface GatewayOptions {
  env?: NodeJS.ProcessEnv;
  config?: string;
  /** serve's whole log is appended there too (for runs that log more than output() keeps). */
  logFile?: string;
  /** Runs after init, before serve starts (e.g. mount a small volume on the recordings folder). */
  prepare?: (dataDir: string) => void;
  /** Runs after serve stopped, before the data dir is removed (e.g. unmount it again). */
  cleanup?: (dataDir: string) => void;
}

/**
 * `portcullis init` into dataDir. A plain init (nothing in the caller's env that init reads: a
 * master key, a store, a config, a webhook) is made once per build and copied: each init spawns the CLI and
 * generates keys (about 1.5 s of CPU), and the e2e files start well over a hundred gateways. Each
 * copy is a whole data dir of its own; gateways of one file never share one (two copies would hold
 * the same keys, which no test of two independent gateways may rely on: those pass an env).
 */
function initDataDir(dataDir: string, env: NodeJS.ProcessEnv, callerEnv: NodeJS.ProcessEnv): void {
  const init = (dir: string): void => {
    const r = cli(['init', '--data', dir], { env });
    if (r.code !== 0) throw new Error(`portcullis init failed: ${r.stderr}`);
  };
  // What init reads or acts on (a webhook gets init's first checkpoint): those inits run for real.
  if (Object.keys(callerEnv).some((k) => /MASTER_KEY|STORE|CONFIG|DATA|WEBHOOK|AUDIT|RECORDINGS|NODE/.test(k))) return init(dataDir);
  const stamp = Math.round(statSync(join(ROOT, 'dist/gateway/cli/main.js')).mtimeMs);
  const template = join(tmpdir(), `portcullis-gw-template-${stamp}`);
  if (!existsSync(join(template, 'complete'))) {
    const fresh = tempDir('gw-template-new');
    init(join(fresh, 'data'));
    writeFileSync(join(fresh, 'complete'), '');
    // Another worker may have made it meanwhile: theirs stays, ours goes.
    try { renameSync(fresh, template); } catch { rmSync(fresh, { recursive: true, force: true }); }
  }
  cpSync(join(template, 'data'), dataDir, { recursive: true });
}

export async function startGateway(opts: GatewayOptions = {}): Promise<GatewayPeer> {
  const dir = tempDir('gw');
  const dataDir = join(dir, 'data');
  const homes = join(dir, 'homes');
  const baseEnv: NodeJS.ProcessEnv = { ...opts.env, PORTCULLIS_HOME: join(homes, '_admin'), PORTCULLIS_DATA: '' };
  initDataDir(dataDir, baseEnv, opts.env ?? {});
  opts.prepare?.(dataDir);
  // Port 0 everywhere: serve binds what the kernel gives and writes the real ports to serve.json.
  // Picking "free" ports up front races with other test workers doing the same.
  const env = {
    // Debug unless the caller asks otherwise (a benchmark runs at the production level, info).
    ...process.env, ...baseEnv, PORTCULLIS_LOG_LEVEL: opts.env?.PORTCULLIS_LOG_LEVEL ?? 'debug', PORTCULLIS_HTTP_PORT: '0',
    PORTCULLIS_SSH_PORT: '0', PORTCULLIS_POSTGRES_PORT: '0', PORTCULLIS_MYSQL_PORT: '0',
  };
  const info = join(dataDir, 'serve.json');
  const serve = async (): Promise<{ proc: Proc; url: string; ports: GatewayPeer['ports'] }> => {
    // PORTCULLIS_SERVE_NODE_ARGS: node flags for serve alone (benchmarks: --cpu-prof --cpu-prof-dir=DIR).
    const nodeArgs = (process.env.PORTCULLIS_SERVE_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const proc = startProc(process.execPath, [...nodeArgs, BIN, 'serve', '--data', dataDir, ...(opts.config ? ['--config', opts.config] : [])], { env, logFile: opts.logFile });
    await waitFor('portcullis serve', () => existsSync(info), 30_000, proc);
    // serve prints its banner before it writes serve.json; this side may not have read the pipe yet.
    await waitFor('the serve banner', () => proc.output().includes('"msg":"serve.console"'), 10_000, proc);
    const served = JSON.parse(readFileSync(info, 'utf8')) as { url: string; ports: Partial<GatewayPeer['ports']> };
    const ports = { https: served.ports.https ?? 0, ssh: served.ports.ssh ?? 0, postgres: served.ports.postgres ?? 0, mysql: served.ports.mysql ?? 0 };
    return { proc, url: served.url, ports };
  };
  let { proc, url, ports } = await serve();
  const userEnv = (user: string): NodeJS.ProcessEnv => ({ ...opts.env, PORTCULLIS_HOME: join(homes, user), PORTCULLIS_DATA: dataDir });
  const peer: GatewayPeer = {
    dataDir, url, ports, pid: proc.child.pid ?? 0, caFile: join(dataDir, 'certs/ca.crt'),
    log: () => proc.output(),
    admin: (args, stdin) => cli([...args, '--data', dataDir], { env: baseEnv, stdin }),
    as: (user, args, stdin) => cli(args, { env: userEnv(user), stdin }),
    login: (user, password, totp) => cli(['login', '--user', user, '--password-stdin'], { env: userEnv(user), stdin: `${password}\n${totp ?? ''}\n` }),
    crash: () => new Promise((resolve) => {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) return resolve();
      proc.child.once('exit', () => resolve());
      proc.child.kill('SIGKILL');
    }),
    halt: () => proc.stop(),
    restart: async () => {
      await proc.stop();
      // A killed serve leaves its serve.json behind: the new one is the sign the restart is up.
      rmSync(info, { force: true });
      ({ proc, url, ports } = await serve());
      Object.assign(peer, { url, pid: proc.child.pid ?? 0 });
      Object.assign(peer.ports, ports);
    },
    stop: async () => {
      await proc.stop();
      opts.cleanup?.(dataDir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return peer;
}

export function json<T>(r: CliResult): T {
  if (r.code !== 0) throw new Error(`CLI failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
