// A small argv parser: positionals, `--flag value`, `--flag=value`, boolean `--flag`, repeatable
// flags. Which flags are boolean is declared, so `--json extra` is never misread.
import { PortcullisError } from '../util/errors.js';
import { ALL_BOOLEAN_FLAGS, type CommandSpec, closest } from './flag-specs.js';

export interface Args {
  positionals: string[];
  flags: Map<string, string[]>;
  /** Value flags given without a value: refused by checkFlags, after an unknown flag (the likelier mistake) is named. */
  missing?: Map<string, string>;
}

/** A usage mistake found in argv before any command ran: exit 2 with the command's usage. */
export class FlagError extends Error {}

/**
 * Splits argv. `booleans` says which flags take no value, so `--json extra` is never misread; a
 * value flag must have its value (`--reason --for 30m` is refused, not read as reason "--for").
 */
export function parseArgs(argv: string[], booleans: ReadonlySet<string> = ALL_BOOLEAN_FLAGS): Args {
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  const missing = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { positionals.push(...argv.slice(i + 1)); break; }
    // Short options do not exist: `-p 2222` is a typo for --port, not a positional.
    if (/^-[A-Za-z]/.test(a)) throw new FlagError(`unknown flag ${a} (flags are written --name)`);
    if (!a.startsWith('--')) { positionals.push(a); continue; }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new FlagError(`"${a}" is not a flag`);
    let value: string;
    if (booleans.has(name)) {
      // `--json=no` would otherwise read as "not given" and silently do the opposite.
      if (eq >= 0) throw new FlagError(`--${name} takes no value (got "${a}")`);
      value = 'true';
    } else if (eq >= 0) value = a.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        missing.set(name, `--${name} needs a value${next === undefined ? '' : ` (to give one that starts with --, write --${name}=VALUE)`}`);
        value = '';
      } else {
        value = next;
        i++;
      }
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { positionals, flags, missing };
}

/** Checks every flag against the command's table entry; throws FlagError naming the first mistake. */
export function checkFlags(args: Args, key: string, spec: CommandSpec): void {
  for (const name of args.flags.keys()) {
    if (spec.flags.has(name)) continue;
    const near = closest(name, spec.flags.keys());
    throw new FlagError(`unknown flag --${name} for \`${key}\`${near ? `; did you mean --${near}?` : ''}`);
  }
  for (const [name, values] of args.flags) {
    const why = args.missing?.get(name);
    if (why !== undefined) throw new FlagError(why);
    if (spec.flags.get(name) === 'value' && values.length > 1) throw new FlagError(`--${name} given ${values.length} times; give it once`);
  }
}

export class Flags {
  constructor(private readonly args: Args) {}

  get positionals(): string[] {
    return this.args.positionals;
  }

  opt(name: string): string | undefined {
    const v = this.args.flags.get(name);
    return v?.[v.length - 1];
  }

  req(name: string, hint = ''): string {
    const v = this.opt(name);
    if (v === undefined) throw new PortcullisError('bad-request', `--${name} is required${hint ? ` (${hint})` : ''}`);
    return v;
  }

  bool(name: string): boolean {
    return this.opt(name) === 'true';
  }

  /** Repeatable and comma-separated: --role a --role b,c → [a, b, c]. */
  list(name: string): string[] {
    return (this.args.flags.get(name) ?? []).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  }

  /** Repeatable, each value whole (no comma split): --level read=a,b --level write=c → ['read=a,b', 'write=c']. */
  all(name: string): string[] {
    return [...(this.args.flags.get(name) ?? [])];
  }

  pos(i: number, what: string): string {
    const v = this.args.positionals[i];
    if (v === undefined) throw new PortcullisError('bad-request', `missing ${what}`);
    return v;
  }
}
