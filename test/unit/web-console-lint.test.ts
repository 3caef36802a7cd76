// The web console's lint rules: gateway/api-types.ts stays types only (the browser bundle imports
// it), the browser takes nothing but types from the server's folders, and pages start timers,
// listeners and sockets only through their PageLifecycle. Runs the project's real ESLint
// configuration on deliberate violations.
import { resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: ROOT });

/** Lints `code` as if it were the file at `path` (an existing file, so the type-aware parser finds its project). */
async function problems(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: resolve(ROOT, path) });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

describe('the shared API types stay types only', () => {
  it('rejects an import or runtime code in gateway/api-types.ts', async () => {
    const found = await problems('gateway/api-types.ts', [
      "import type { Clock } from './util/clock.js';",
      'export const LIMIT = 10;',
      'export interface Ok { at: Clock }',
      '',
    ].join('\n'));
    expect(found.filter((p) => p.startsWith('no-restricted-syntax'))).toHaveLength(2);
  }, 60_000);

  it('rejects a runtime import of server code in the browser bundle, and allows a type import', async () => {
    const found = await problems('web-player/src/api.ts', [
      "import { LOG } from '../../gateway/log/logger.js';",
      "import type { WebMe } from '../../gateway/api-types.js';",
      'export const who = (m: WebMe): string => `${m.user} ${LOG.httpRequest}`;',
      '',
    ].join('\n'));
    const restricted = found.filter((p) => p.startsWith('@typescript-eslint/no-restricted-imports'));
    expect(restricted).toHaveLength(1);
    expect(restricted[0]).toContain('gateway/log/logger.js');
  }, 60_000);
});

describe('pages start things only through their lifecycle', () => {
  it('rejects a raw timer, listener, socket or global handler in a page', async () => {
    const found = await problems('web-player/src/pages/live.ts', [
      'export function leaky(b: HTMLElement): void {',
      '  window.setTimeout(() => undefined, 10);',
      '  setInterval(() => undefined, 10);',
      "  b.addEventListener('click', () => undefined);",
      "  const ws = new WebSocket('wss://example.invalid/');",
      '  document.onkeydown = (): void => { ws.close(); };',
      '}',
      '',
    ].join('\n'));
    expect(found.filter((p) => p.startsWith('no-restricted-syntax'))).toHaveLength(5);
  }, 60_000);
});
