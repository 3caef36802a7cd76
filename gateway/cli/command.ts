// What every CLI command receives.
import { PortcullisError } from '../util/errors.js';
import { ApiClient } from './api-client.js';
import type { Flags } from './args.js';
import { resolveConnection } from './connection.js';
import type { Out } from './output.js';
import type { Ask } from './terminal.js';

export interface CommandContext {
  flags: Flags;
  env: NodeJS.ProcessEnv;
  out: Out;
  json: boolean;
  stdin: NodeJS.ReadableStream;
  /** The --data flag, only when given explicitly. */
  data: string | undefined;
  /** Asks the person at the terminal; null when there is none (see terminal.ts). */
  ask: Ask;
  api(): ApiClient;
}

export type Command = (c: CommandContext) => Promise<number>;

export function makeApi(env: NodeJS.ProcessEnv, data: string | undefined): () => ApiClient {
  let client: ApiClient | null = null;
  return () => (client ??= new ApiClient(resolveConnection(env, data)));
}

export function usage(text: string): never {
  throw new PortcullisError('bad-request', `usage: ${text}`);
}

export const enc = encodeURIComponent;
