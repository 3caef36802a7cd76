// The `portcullis` command: parses argv, dispatches, prints errors as "portcullis: message (code)".
// Exit codes: 0 ok, 1 refused or failed, 2 usage.
import { isPortcullisError } from '../util/errors.js';
import { checkFlags, FlagError, Flags, parseArgs } from './args.js';
import { COMMAND_SPECS, specFor, subcommandsOf, usageLine } from './flag-specs.js';
import { type Command, type CommandContext, makeApi } from './command.js';
import { type Out, stdio } from './output.js';
import { type Ask, askAtTerminal } from './terminal.js';

// Each command's module is loaded only when that command runs: `serve` and `init` pull in the whole
// gateway, and loading every module for every call made each CLI call cost about a second of CPU
// (scripts and tests run the CLI thousands of times).
type Lazy = () => Promise<Command>;
const admin = (): Promise<typeof import('./commands/admin.js')> => import('./commands/admin.js');
const workflow = (): Promise<typeof import('./commands/workflow.js')> => import('./commands/workflow.js');
const nodeCmds = (): Promise<typeof import('./commands/node.js')> => import('./commands/node.js');
const oversight = (): Promise<typeof import('./commands/oversight.js')> => import('./commands/oversight.js');
const sessionLogin = (): Promise<typeof import('./commands/session-login.js')> => import('./commands/session-login.js');
const recordings = (): Promise<typeof import('./commands/recordings.js')> => import('./commands/recordings.js');
const COMMANDS: Record<string, Lazy> = {
  init: async () => (await nodeCmds()).initCmd, serve: async () => (await nodeCmds()).serveCmd,
  user: async () => (await admin()).userCmd, target: async () => (await admin()).targetCmd, policy: async () => (await admin()).policyCmd,
  request: async () => (await workflow()).requestCmd, requests: async () => (await workflow()).requestsCmd,
  approve: async () => (await workflow()).approveCmd, deny: async () => (await workflow()).denyCmd, grant: async () => (await workflow()).grantCmd,
  breakglass: async () => (await workflow()).breakglassCmd, 'db-password': async () => (await workflow()).dbPasswordCmd,
  audit: async () => (await import('./commands/audit.js')).auditCmd,
  session: async () => (await oversight()).sessionCmd, vault: async () => (await oversight()).vaultCmd,
  play: async () => (await recordings()).playCmd, export: async () => (await recordings()).exportCmd,
  login: async () => (await sessionLogin()).loginCmd, logout: async () => (await sessionLogin()).logoutCmd,
  whoami: async () => (await sessionLogin()).whoamiCmd, passwd: async () => (await sessionLogin()).passwdCmd,
  link: async () => (await import('./commands/links.js')).linkCmd,
  ephemeral: async () => (await import('./commands/ephemeral.js')).ephemeralCmd,
  discover: async () => (await import('./commands/discover.js')).discoverCmd,
  node: async () => (await import('./commands/cluster.js')).nodeCmd,
  rule: async () => (await import('./commands/rules.js')).ruleCmd,
  'ssh-config': async () => (await import('./commands/ssh-config.js')).sshConfigCmd,
};

const HELP = `portcullis: just-in-time privileged access gateway

  init   [--data DIR] [--if-missing] [--store URL]   create DIR: store, master key, CA, host key, admin token
         (--store postgres://...: the first node makes the cluster; another node joins it with master.key copied in first)
  serve  [--data DIR] [--config FILE] [--store URL] [--node NAME]   run every listener; SIGTERM drains and closes cleanly
  user   add|list|remove|passwd|totp|ssh-key|disable|enable|token
  target add|update|show|list|remove|test|fetch-cert|rotate --kind postgres|mysql --host H [--port P]
         [--credential static|ephemeral] [--level NAME=SPEC]... [--rotate after-session|daily|off]
  policy add|replace|list|remove          [--levels L1,L2]
  request TARGET --for DUR --reason TEXT [--ticket ID] [--level L]
  requests [--pending]    approve ID    deny ID --reason TEXT
  grant  add|list [--active]|revoke ID|extend ID --by DUR|review ID --accept|--deny
  breakglass TARGET --reason TEXT [--level L]      (grant add takes --level L too)
  link   create TARGET --ttl DUR [--uses N] [--label TEXT] [--session-max DUR] [--level L]|list|approve ID|revoke ID
  db-password TARGET [--level L]                  one-time database password for your grant (users with TOTP)
  session list [--live | --flagged] [--min-score N] [--order score] | show ID [--full] | kill ID | reveal ID [--at T | --span N] [--channel N] [--reason TEXT]
  play ID [--speed X] [--skip-idle]        export ID > session.cast
  audit  list|verify [--checkpoints FILE]|export
  vault  rotate-key [--keep-old]
  rule   add NAME --kind sql|command (--class CLASS | --match PATTERN) --action deny|flag
         [--targets T,..] [--roles R,..] [--levels L,..] [--message TEXT] [--unparsable deny|allow] | list | remove NAME
         guardrails: deny or flag SQL statements and SSH commands before they run (see README "Guardrails")
  ephemeral list [--target T]             per-grant accounts on ephemeral targets, their state and drop failures
  discover TARGET [--json]                privileged accounts on the target, managed or not (--stored: earlier findings)
  node   list                             the cluster's nodes: state, version, last heartbeat (admins; * = the node answering)
  login  --server URL --user U --password-stdin    logout    whoami
  login  --sso [--server URL] [--no-browser]       (approve the sign-in in the browser)
         (login also leaves an SSH key and a short-lived certificate for plain ssh; logout ends both)
  ssh-config [--alias NAME]               an OpenSSH Host block using that certificate: ssh you+TARGET@portcullis
  passwd --password-stdin                 change your password (stdin: current, new, then the one-time code if enrolled)

Listings take --json. Secrets are read from standard input, never from arguments.
`;

export async function main(argv: string[], io: { out?: Out; env?: NodeJS.ProcessEnv; stdin?: NodeJS.ReadableStream; ask?: Ask } = {}): Promise<number> {
  const out = io.out ?? stdio;
  const env = io.env ?? process.env;
  try {
    let args;
    try {
      args = parseArgs(argv);
    } catch (err) {
      if (err instanceof FlagError) return refuse(out, err.message, guessCommand(argv));
      throw err;
    }
    const [name, ...rest] = args.positionals;
    if (!name || name === 'help') {
      out.write(HELP);
      return name ? 0 : 2;
    }
    const cmd = COMMANDS[name];
    if (!cmd) {
      out.error(`portcullis: unknown command "${name}"; see "portcullis help"\n`);
      return 2;
    }
    // Every flag is checked against the command's table BEFORE it runs (flag-specs.ts): an unknown
    // or misspelt one stops here, with nothing read, sent or stored.
    const found = specFor(name, rest[0]);
    if (!found) throw new Error(`no flag table for "${name}" in gateway/cli/flag-specs.ts`);
    if (args.flags.has('help')) {
      out.write(usageOf(name, rest[0]) + '\n');
      return 0;
    }
    try {
      checkFlags(args, found.key, found.spec);
      checkPositionals(args.positionals, found.key);
    } catch (err) {
      if (err instanceof FlagError) return refuse(out, err.message, [name, rest[0]]);
      throw err;
    }
    const flags = new Flags({ positionals: rest, flags: args.flags });
    const data = flags.opt('data');
    const ctx: CommandContext = { flags, env, out, json: flags.bool('json'), stdin: io.stdin ?? process.stdin, data, ask: io.ask ?? askAtTerminal, api: makeApi(env, data) };
    return await (await cmd())(ctx);
  } catch (err) {
    if (isPortcullisError(err)) {
      out.error(`portcullis: ${err.message} (${err.code})\n`);
      return err.message.startsWith('usage:') ? 2 : 1;
    }
    out.error(`portcullis: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/**
 * More words than the command takes are a mistake, not something to drop: an unquoted
 * `--window mon-fri 09:00-17:00 Europe/Berlin` made a whole-day UTC window and ignored the rest, and
 * `-- --ticket-check URL` made a policy without its check. (A command whose subcommand is unknown
 * has no table entry of its own; it names its subcommands itself.)
 */
function checkPositionals(positionals: string[], key: string): void {
  const spec = COMMAND_SPECS[key];
  if (!spec) return;
  const max = key.split(' ').length + spec.args.split(/\s+/).filter(Boolean).length;
  const extra = positionals[max];
  if (extra !== undefined) {
    throw new FlagError(`unexpected argument "${extra.slice(0, 80)}" for \`${key}\` (a value with spaces is quoted: --window "mon-fri 09:00-17:00 Europe/Berlin")`);
  }
}

/** The usage of `cmd sub`, or of each subcommand when none (or an unknown one) is given. */
function usageOf(cmd: string, sub: string | undefined): string {
  const exact = specFor(cmd, sub);
  if (exact && exact.key !== cmd) return `usage: ${usageLine(exact.key, exact.spec)}`;
  const subs = subcommandsOf(cmd);
  if (subs.length === 0 && exact) return `usage: ${usageLine(cmd, exact.spec)}`;
  return ['usage:', ...subs.map((s) => `  ${usageLine(`${cmd} ${s}`, COMMAND_SPECS[`${cmd} ${s}`]!)}`)].join('\n');
}

/** Exit 2 with the mistake and the command's usage (or the general help when the command is unknown). */
function refuse(out: Out, message: string, [cmd, sub]: Array<string | undefined>): number {
  out.error(`portcullis: ${message}\n`);
  out.error(cmd !== undefined && COMMANDS[cmd] ? `${usageOf(cmd, sub)}\n` : 'see "portcullis help"\n');
  return 2;
}

/** The command words of an argv that did not parse: the first word naming a command, and the word after it. */
function guessCommand(argv: string[]): Array<string | undefined> {
  const i = argv.findIndex((a) => COMMANDS[a] !== undefined);
  if (i < 0) return [];
  const next = argv[i + 1];
  return [argv[i], next !== undefined && !next.startsWith('-') ? next : undefined];
}
