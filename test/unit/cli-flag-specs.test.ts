// The CLI's flag table (gateway/cli/flag-specs.ts) against the code: every flag a command reads
// (flags.opt/req/bool/list/all('x') in gateway/cli/commands/*.ts) must be declared for that
// command with a matching kind, so the strict check before a command runs can never refuse a flag
// the command uses, nor drift from it. Then each command refuses a misspelt flag with exit 2
// before anything happens. Loaded by path: nothing imports gateway/cli (DESIGN.md 5).
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

type FlagKind = 'bool' | 'value' | 'list';
interface Specs {
  COMMAND_SPECS: Record<string, { args: string; flags: ReadonlyMap<string, FlagKind> }>;
  specFor: (cmd: string, sub: string | undefined) => { key: string } | undefined;
}
type Main = (argv: string[], io: { out: { write(t: string): void; error(t: string): void }; env: NodeJS.ProcessEnv; stdin: NodeJS.ReadableStream }) => Promise<number>;

const CLI = resolve(import.meta.dirname, '../../gateway/cli');
const load = async <T>(file: string): Promise<T> => (await import(pathToFileURL(join(CLI, file)).href)) as T;

/** Command name → the file that defines it, read from main.ts's lazy COMMANDS table (and the loaders it names). */
function commandFiles(): Map<string, string[]> {
  const main = readFileSync(join(CLI, 'main.ts'), 'utf8');
  const loaders = new Map<string, string>();
  for (const m of main.matchAll(/const (\w+) = \(\): [^\n]*=> import\('\.\/commands\/([a-z-]+)\.js'\)/g)) loaders.set(m[1]!, `${m[2]}.ts`);
  const table = /const COMMANDS[^{]*\{([\s\S]*?)\n\};/.exec(main)![1]!;
  const files = new Map<string, string[]>();
  for (const m of table.matchAll(/'?([a-z-]+)'?: async \(\) => \(await (?:(\w+)\(\)|import\('\.\/commands\/([a-z-]+)\.js'\))\)\.\w+/g)) {
    const file = m[3] ? `${m[3]}.ts` : loaders.get(m[2]!);
    if (file) files.set(file, [...(files.get(file) ?? []), m[1]!]);
  }
  // Helper files (target-tls.ts, reveal.ts, ...) serve the commands of the files that import them.
  const all = readdirSync(join(CLI, 'commands')).filter((f) => f.endsWith('.ts'));
  for (let changed = true; changed;) {
    changed = false;
    for (const f of all) {
      const src = readFileSync(join(CLI, 'commands', f), 'utf8');
      for (const m of src.matchAll(/from '\.\/([a-z-]+)\.js'/g)) {
        const helper = `${m[1]}.ts`;
        const have = new Set(files.get(helper) ?? []);
        for (const c of files.get(f) ?? []) if (!have.has(c)) { have.add(c); changed = true; }
        files.set(helper, [...have]);
      }
    }
  }
  return files;
}

const READ_KIND: Record<string, FlagKind[]> = { opt: ['value'], req: ['value'], bool: ['bool'], list: ['list'], all: ['list'] };

describe('flag table', () => {
  it('declares every flag each command file reads, with the kind it is read as', async () => {
    const { COMMAND_SPECS } = await load<Specs>('flag-specs.ts');
    const files = commandFiles();
    expect(files.get('admin.ts')).toEqual(expect.arrayContaining(['user', 'target', 'policy']));
    const missing: string[] = [];
    for (const f of readdirSync(join(CLI, 'commands')).filter((x) => x.endsWith('.ts'))) {
      const cmds = files.get(f) ?? [];
      const src = readFileSync(join(CLI, 'commands', f), 'utf8');
      for (const m of src.matchAll(/flags\.(opt|req|bool|list|all)\('([a-z0-9-]+)'/g)) {
        const [, how, flag] = m as unknown as [string, string, string];
        const ok = Object.entries(COMMAND_SPECS).some(([key, s]) => cmds.includes(key.split(' ')[0]!) && READ_KIND[how]!.includes(s.flags.get(flag)!));
        if (!ok) missing.push(`${f}: --${flag} (read with flags.${how}) for ${cmds.join('/') || '(no command)'}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('has an entry for every command main.ts dispatches', async () => {
    const { specFor } = await load<Specs>('flag-specs.ts');
    const main = readFileSync(join(CLI, 'main.ts'), 'utf8');
    const table = /const COMMANDS[^{]*\{([\s\S]*?)\n\};/.exec(main)![1]!;
    const names = [...table.matchAll(/'?([a-z-]+)'?: \w+/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(20);
    expect(names.filter((n) => specFor(n, undefined) === undefined)).toEqual([]);
  });

  it('a flag is boolean everywhere or nowhere (argv is split before the command is known)', async () => {
    const { COMMAND_SPECS } = await load<Specs>('flag-specs.ts');
    const kinds = new Map<string, Set<string>>();
    for (const s of Object.values(COMMAND_SPECS)) for (const [n, k] of s.flags) kinds.set(n, (kinds.get(n) ?? new Set()).add(k === 'bool' ? 'bool' : 'value'));
    expect([...kinds].filter(([, k]) => k.size > 1).map(([n]) => n)).toEqual([]);
  });
});

describe('strict flags, before the command runs', () => {
  // A closed port: a command that got past the check would fail to connect (exit 1), not exit 2.
  const env = { PORTCULLIS_URL: 'https://127.0.0.1:1', PORTCULLIS_TOKEN: 'x', PORTCULLIS_DATA: '/nonexistent-portcullis', PORTCULLIS_HOME: '/nonexistent-portcullis' };
  const run = async (argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    const { main } = await load<{ main: Main }>('main.ts');
    let out = '';
    let err = '';
    const { Readable } = await import('node:stream');
    const code = await main(argv, { out: { write: (t) => { out += t; }, error: (t) => { err += t; } }, env, stdin: Readable.from(['']) });
    return { code, out, err };
  };

  it('names the misspelt flag, the command, the nearest flag and the usage', async () => {
    const r = await run(['target', 'add', 'web01', '--kind', 'ssh', '--host', 'h', '--account', 'a', '--credental', 'ephemeral']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown flag --credental for `target add`; did you mean --credential?');
    expect(r.err).toMatch(/usage: portcullis target add NAME .*\[--credential V\]/);
  });

  it('refuses a misspelt flag for every command and subcommand, with exit 2', async () => {
    const { COMMAND_SPECS } = await load<Specs>('flag-specs.ts');
    const main = readFileSync(join(CLI, 'main.ts'), 'utf8');
    for (const key of Object.keys(COMMAND_SPECS)) {
      if (!main.includes(`'${key.split(' ')[0]}'`) && !new RegExp(`\\b${key.split(' ')[0]}: `).test(main)) continue; // a command another part adds
      const r = await run([...key.split(' '), 'x', '--frobnicate-typo']);
      expect({ key, code: r.code, err: r.err.split('\n')[0] }).toEqual({ key, code: 2, err: `portcullis: unknown flag --frobnicate-typo for \`${key}\`` });
    }
  });

  it('refuses a value on a boolean flag, a value flag without one, a flag given twice, short options', async () => {
    expect((await run(['grant', 'list', '--active=no'])).err).toContain('--active takes no value');
    expect((await run(['request', 'web01', '--for'])).err).toContain('--for needs a value');
    expect((await run(['request', 'web01', '--reason', '--for', '30m'])).err).toContain('--reason needs a value (to give one that starts with --, write --reason=VALUE)');
    expect((await run(['target', 'add', 'w', '--kind', 'ssh', '--kind', 'mysql'])).err).toContain('--kind given 2 times');
    expect((await run(['target', 'add', 'w', '-p', '22'])).err).toContain('unknown flag -p');
    for (const argv of [['grant', 'list', '--active=no'], ['request', 'web01', '--for'], ['target', 'list', '--host', 'x']]) expect((await run(argv)).code).toBe(2);
  });

  it('refuses words the command does not take (an unquoted window, flags after --), before it runs', async () => {
    const w = await run(['policy', 'add', 'p1', '--roles', 'ops', '--targets', 'db1', '--window', 'mon-fri', '09:00-17:00', 'Europe/Berlin']);
    expect({ code: w.code, err: w.err.split('\n')[0] }).toEqual({ code: 2, err: 'portcullis: unexpected argument "09:00-17:00" for `policy add` (a value with spaces is quoted: --window "mon-fri 09:00-17:00 Europe/Berlin")' });
    expect((await run(['policy', 'add', 'p1', '--roles', 'ops', '--', '--ticket-check', 'https://t.example/x'])).code).toBe(2);
    expect((await run(['request', 'web01', '--for', '30m', '--reason', 'fix', 'the', 'disk'])).err).toContain('unexpected argument "the" for `request`');
    // The words a command does take still reach it (and fail on the closed port, exit 1).
    expect((await run(['user', 'ssh-key', 'ops', '/nonexistent.pub'])).code).toBe(1);
    expect((await run(['requests', 'approve', 'req_1'])).code).toBe(1);
  });

  it('prints a command\'s usage for --help, without running it', async () => {
    const r = await run(['target', 'add', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: portcullis target add NAME /);
    const all = await run(['grant', '--help']);
    expect(all.out).toContain('portcullis grant extend ID [--by V]');
    expect((await run(['--json', 'target', 'list', '--colour'])).err).toContain('unknown flag --colour for `target list`');
  });
});
