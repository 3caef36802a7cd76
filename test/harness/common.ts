// Shared pieces of the peer harness: free loopback ports, temp dirs, processes that are always
// stopped, and a clear failure when a peer binary is missing (never a skip).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, createWriteStream, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * `dest` as a copy (owners and modes kept: cp -a) of a directory `make` builds once per machine for
 * this key: a database's initdb or install-db costs about a second of CPU, the copy a tenth of that.
 * The key must change whenever what make() builds would (it names the command line).
 */
export function fromTemplate(key: string, dest: string, make: (dir: string) => void): void {
  const template = join(tmpdir(), `portcullis-template-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`);
  if (!existsSync(join(template, 'complete'))) {
    const fresh = tempDir('template-new');
    chmodSync(fresh, 0o755);
    make(join(fresh, 'made'));
    writeFileSync(join(fresh, 'complete'), key);
    // Another worker may have made it meanwhile: theirs stays, ours goes.
    try { renameSync(fresh, template); } catch { rmSync(fresh, { recursive: true, force: true }); }
  }
  runOk('cp', ['-a', join(template, 'made'), dest]);
}

/** A peer's data dir, once the peer has stopped: a database's is 100 MB, and a run starts dozens. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `portcullis-${prefix}-`));
}

/** The first existing path of a peer binary, or an error naming the Debian package to install. */
export function requireBinary(pkg: string, ...candidates: string[]): string {
  for (const c of candidates) {
    if (c.includes('/') ? existsSync(c) : spawnSync('sh', ['-c', `command -v ${c}`]).status === 0) return c;
  }
  throw new Error(`peer binary ${candidates.join(' or ')} not found: install the Debian package "${pkg}" (npm test does this as root)`);
}

export function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { input: opts.input, env: opts.env ?? process.env, cwd: opts.cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

export function runOk(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): string {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

export interface Proc {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** `logFile`: also append everything the process prints there, whole (output() keeps the last 200 KB). */
/** `stopSignal`: what stop() sends first (SIGTERM unless told; a peer whose data is thrown away may take a faster one). */
export function startProc(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; logFile?: string; stopSignal?: NodeJS.Signals; uid?: number; gid?: number } = {}): Proc {
  const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.gid }) });
  let out = '';
  const file = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : null;
  const keep = (d: Buffer): void => { out = (out + d.toString()).slice(-200_000); file?.write(d); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return {
    child,
    output: () => out,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => { clearTimeout(t); resolve(); });
      child.kill(opts.stopSignal ?? 'SIGTERM');
    }),
  };
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000, proc?: Proc): Promise<void> {
  const end = Date.now() + timeoutMs;
  // Checked once more after the deadline: a test that blocked the event loop meanwhile (spawnSync of
  // a CLI on a loaded machine) must not fail a peer that came up while nobody was looking.
  for (;;) {
    if (await check()) return;
    if (proc && proc.child.exitCode !== null) throw new Error(`${what}: process exited (${proc.child.exitCode}):\n${proc.output()}`);
    if (Date.now() >= end) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${proc ? `:\n${proc.output()}` : ''}`);
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/**
 * Starts a peer that must be told its port up front. Another test worker can take a port between
 * freePort() and the peer's bind, so a start that fails on an address in use is retried, at most
 * three times in all.
 */
export async function withFreshPort<T>(start: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (err) {
      const inUse = /address already in use|could not bind|could not create listen socket|Do you already have another/i.test(String(err));
      if (!inUse || attempt >= 3) throw err;
    }
  }
}
