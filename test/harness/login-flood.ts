// Starts the bogus-login flood (login-flood-proc.ts, from dist/) as a child process and collects its
// counts when it ends. The child does the TLS work, so the caller's own timings stay honest.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FloodResult, FloodSpec } from './login-flood-proc.js';
import { BIN } from './gateway.js';

export type { FloodResult, FloodSpec };

export function startFlood(spec: FloodSpec): { result: Promise<FloodResult>; stop(): void } {
  const script = join(dirname(dirname(BIN)), 'dist/test/harness/login-flood-proc.js');
  if (!existsSync(script)) throw new Error('dist/ is missing: run "npm run build" first');
  const child = spawn(process.execPath, [script, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-2000); });
  const result = new Promise<FloodResult>((resolve, reject) => {
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as FloodResult);
      } catch {
        reject(new Error(`the flood process ended (${code}) without counts: ${err}`));
      }
    });
  });
  return { result, stop: () => { child.kill('SIGTERM'); } };
}
