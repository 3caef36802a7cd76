// A small argv parser: positionals, `--flag value`, `--flag=value`, boolean `--flag`, repeatable
// flags. Which flags are boolean is declared, so `--json extra` is never misread.
import { PortcullisError } from '../util/errors.js';

export interface Args {
  positionals: string[];
  flags: Map<string, string[]>;
}

export const BOOLEAN_FLAGS = new Set([
  'json', 'password-stdin', 'pending', 'active', 'live', 'service', 'if-missing', 'remove', 'accept', 'deny',
  'no-reason', 'auto-approve', 'breakglass', 'no-record-keystrokes', 'allow-port-forwarding', 'print-config', 'help',
  'full-capture', 'recording-optional', 'skip-idle', 'allow-links', 'full', 'keep-old', 'no-tags', 'allow-weak-upstream-auth', 'refuse-weak-upstream-auth', 'mysql-native-password', 'no-mysql-native-password',
  'keep-home', 'remove-home',
  'force',
  'stored',
  'flagged',
  'sso', 'no-browser',
]);

export function parseArgs(argv: string[]): Args {
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { positionals.push(...argv.slice(i + 1)); break; }
    if (!a.startsWith('--')) { positionals.push(a); continue; }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    let value: string;
    if (eq >= 0) value = a.slice(eq + 1);
    else if (BOOLEAN_FLAGS.has(name)) value = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new PortcullisError('bad-request', `--${name} needs a value`);
      value = next;
      i++;
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { positionals, flags };
}

export class Flags {
  private used = new Set<string>();
  constructor(private readonly args: Args) {}

  get positionals(): string[] {
    return this.args.positionals;
  }

  opt(name: string): string | undefined {
    this.used.add(name);
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
    this.used.add(name);
    return (this.args.flags.get(name) ?? []).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  }

  /** Repeatable, each value whole (no comma split): --level read=a,b --level write=c → ['read=a,b', 'write=c']. */
  all(name: string): string[] {
    this.used.add(name);
    return [...(this.args.flags.get(name) ?? [])];
  }

  pos(i: number, what: string): string {
    const v = this.args.positionals[i];
    if (v === undefined) throw new PortcullisError('bad-request', `missing ${what}`);
    return v;
  }

  /** Flags given but never read by the command: almost always a typo. */
  unknown(): string[] {
    return [...this.args.flags.keys()].filter((k) => !this.used.has(k) && !['data', 'config', 'json'].includes(k));
  }
}
