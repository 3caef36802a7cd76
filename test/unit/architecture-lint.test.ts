// The architecture lint (eslint.architecture.js) rejects each wrong arrow of DESIGN.md section 5
// and accepts a clean tree. It runs ESLint's Node API on test/fixtures/architecture, a small tree
// shaped like the real one with one deliberate violation per file, using only the architecture
// rules (the fixtures are ignored by the repository's own lint).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'architecture');

interface ArchitectureModule {
  architectureConfig(opts: { basePath: string; files?: string[] }): Linter.Config[];
}

let eslint: ESLint;

beforeAll(async () => {
  // A computed specifier: the module is plain JS shared with eslint.config.js, typed here.
  const mod = (await import(pathToFileURL(join(ROOT, 'eslint.architecture.js')).href)) as unknown as ArchitectureModule;
  eslint = new ESLint({
    cwd: FIXTURE,
    overrideConfigFile: true,
    overrideConfig: [
      { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
      ...mod.architectureConfig({ basePath: FIXTURE, files: ['**/*.ts'] }),
    ],
  });
});

/** The rule ids and messages ESLint reports for one fixture file. */
async function problems(file: string): Promise<Array<{ rule: string | null; message: string; line: number }>> {
  const [result] = await eslint.lintFiles([join(FIXTURE, file)]);
  return (result?.messages ?? []).map((m) => ({ rule: m.ruleId, message: m.message, line: m.line }));
}

describe('the architecture lint', () => {
  it.each([
    ['gateway/ssh/uses-vault.ts', /never import gateway\/vault/],
    ['gateway/postgres/uses-audit.ts', /never import gateway\/audit/],
    ['gateway/mysql/uses-store.ts', /never import gateway\/store/],
    ['gateway/web-terminal/uses-vault-type.ts', /never import gateway\/vault/],
  ])('rejects a protocol folder importing vault, audit or store: %s', async (file, message) => {
    const found = await problems(file);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ rule: 'import-x/no-restricted-paths', message: expect.stringMatching(message) as unknown });
  });

  it.each(['recorder/uses-gateway.ts', 'certs/uses-gateway.ts'])('rejects %s importing gateway/', async (file) => {
    const found = await problems(file);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ rule: 'import-x/no-restricted-paths', message: expect.stringMatching(/never import gateway\//) as unknown });
  });

  it.each(['gateway/http/uses-cli.ts', 'test/uses-cli.ts'])('rejects %s importing gateway/cli', async (file) => {
    const found = await problems(file);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ rule: 'import-x/no-restricted-paths', message: expect.stringMatching(/Nothing imports gateway\/cli/) as unknown });
  });

  it('rejects a protocol folder reaching the composition level, and a services root that builds a front end', async () => {
    expect(await problems('gateway/ssh/uses-compose.ts')).toMatchObject([{ rule: 'import-x/no-restricted-paths', message: expect.stringMatching(/composition level/) as unknown }]);
    expect(await problems('gateway/app.ts')).toMatchObject([{ rule: 'import-x/no-restricted-paths', line: 5, message: expect.stringMatching(/services root/) as unknown }]);
  });

  it('rejects an import cycle, from either end', async () => {
    for (const file of ['gateway/util/cycle-a.ts', 'gateway/util/cycle-b.ts']) {
      expect(await problems(file)).toMatchObject([{ rule: 'import-x/no-cycle' }]);
    }
  });

  it('rejects a cycle whose edges are type-only, which import-x/no-cycle does not follow', async () => {
    for (const file of ['gateway/net/type-cycle-a.ts', 'gateway/net/type-cycle-b.ts']) {
      expect(await problems(file)).toMatchObject([{ rule: 'portcullis/no-type-cycle', line: 3 }]);
    }
  });

  it('accepts a clean tree: protocol folders on net/, util/ and the record types session/ re-exports, cli on compose, compose on everything', async () => {
    const clean = ['gateway/ssh/listener.ts', 'gateway/session/adapter.ts', 'gateway/cli/main.ts', 'gateway/compose/gateway.ts', 'recorder/writer.ts', 'gateway/http/server.ts', 'gateway/store/records.ts'];
    for (const file of clean) expect({ file, problems: await problems(file) }).toEqual({ file, problems: [] });
  });
});
