// The gate: the one hook every client command that can act on the target passes before it is
// forwarded (an SQL statement or function call, an SSH exec command, a channel or forward request,
// a line submitted at an interactive prompt where the adapter can tell). It answers allow, deny
// (with a message the adapter says in protocol words) or flag (forwarded, but recorded as flagged).
// The guardrail rules (gateway/rules/rule-gate.ts: one GateRule over the rule book) come first after
// the built-in policy rules; with no rule configured every command passes.
// Hot path: adapters read `passThrough` once per chunk and skip the per-command call entirely when
// no rule is configured, so the byte relay pays nothing; `check` itself allocates nothing on allow.
// Does not record or audit: the pipeline's session context does that with the verdict.

export type GateCommand =
  | {
    kind: 'sql'; protocol: 'postgres' | 'mysql'; path: 'simple' | 'parse' | 'bind' | 'execute' | 'function-call' | 'prepare'; text: string;
    /** A PostgreSQL FunctionCall's function (by OID: the message names it no other way). */
    functionOid?: number;
  }
  | { kind: 'exec'; command: string }
  | { kind: 'channel'; type: 'shell' | 'exec' | 'subsystem' | 'x11' | 'agent' | 'tcpip-forward'; name?: string }
  | { kind: 'forward'; host: string; port: number }
  | { kind: 'line'; text: string }
  /**
   * A command the adapter refused itself because it could end a thread it cannot prove the
   * session owns (MySQL KILL): passed here so the refusal is recorded and audited like a denial.
   */
  | { kind: 'thread-kill'; protocol: 'mysql'; text: string; refusal: string };

export type GateVerdict =
  | { readonly verdict: 'allow' }
  | { readonly verdict: 'deny'; readonly message: string; readonly rule: string }
  | { readonly verdict: 'flag'; readonly label: string; readonly rule: string };

export const ALLOW: GateVerdict = Object.freeze({ verdict: 'allow' });

/** What a rule sees besides the command: who, where, under which policy. */
export interface GateSubject {
  user: string;
  target: string;
  protocol: string;
  allowPortForwarding: boolean;
  /** For rule scopes (rules/rule-spec.ts inScope): the user's roles, the target's tags, the grant's level. */
  roles: readonly string[];
  targetTags: readonly string[];
  level: string;
}

export interface GateRule {
  readonly name: string;
  /** Returns null when the rule has nothing to say about this command. Must be synchronous and cheap. */
  check(cmd: GateCommand, subject: GateSubject): GateVerdict | null;
  /**
   * Whether this rule may look at statements, exec commands or lines of a session like this one,
   * asked once when the session starts; false lets its adapter relay without framing (pass-through).
   * Absent: yes.
   */
  watches?(subject: GateSubject): boolean;
}

/**
 * The built-in rule every session has: port forwarding only where the policy allows it. Forward
 * requests are rare (not on the byte path), so this rule does not make the gate leave pass-through
 * for statements: `appliesTo` lets the gate keep its fast path for everything else.
 */
export const FORWARDING_POLICY: GateRule = {
  name: 'policy:port-forwarding',
  check: (cmd, s) => (cmd.kind === 'forward' && !s.allowPortForwarding
    ? { verdict: 'deny', message: 'port forwarding is not allowed for this target by its policy', rule: 'policy:port-forwarding' }
    : null),
};

/** Built in: records an adapter's KILL refusal (the adapter refuses whatever the verdict). */
export const THREAD_KILL_POLICY: GateRule = {
  name: 'builtin:thread-kill',
  check: (cmd) => (cmd.kind === 'thread-kill' ? { verdict: 'deny', message: cmd.refusal, rule: 'builtin:thread-kill' } : null),
};

export class Gate {
  /** True when no rule looks at statements, exec commands or lines: adapters may skip the call. */
  readonly passThrough: boolean;

  constructor(private readonly rules: readonly GateRule[], private readonly subject: GateSubject) {
    this.passThrough = rules.every((r) => r.watches !== undefined && !r.watches(subject));
  }

  /** First non-null verdict wins; deny beats flag only by order (rules are ordered by the caller). */
  check(cmd: GateCommand): GateVerdict {
    // Built-in policy rules are not optional and run even in pass-through mode.
    const p = FORWARDING_POLICY.check(cmd, this.subject) ?? THREAD_KILL_POLICY.check(cmd, this.subject);
    if (p) return p;
    for (const r of this.rules) {
      let v: GateVerdict | null;
      try {
        v = r.check(cmd, this.subject);
      } catch {
        // Fail closed: a rule that cannot decide refuses. A throw must not reach the adapter
        // either: some call the gate from async code where it would take the process down.
        return { verdict: 'deny', message: 'the gateway could not check this command; ask an admin', rule: r.name };
      }
      if (v) return v;
    }
    return ALLOW;
  }
}

/** A short, bounded description of a command for records and logs. */
export function describeCommand(cmd: GateCommand): string {
  const text = (() => {
    switch (cmd.kind) {
      case 'sql': return `${cmd.path}: ${cmd.text}`;
      case 'exec': return cmd.command;
      case 'channel': return cmd.name ? `${cmd.type}:${cmd.name}` : cmd.type;
      case 'forward': return `${cmd.host}:${cmd.port}`;
      case 'line': return cmd.text;
      case 'thread-kill': return `${cmd.text} — ${cmd.refusal}`;
    }
  })();
  // Control characters (NUL, ESC) and invisible or direction-changing Unicode are escaped: a command
  // must not rewrite the terminal of whoever reads the records, nor hide part of itself.
  const shown = cmd.kind !== 'exec' && cmd.kind !== 'line' ? text : text.replace(UNSAFE, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
  return shown.length > 200 ? shown.slice(0, 200) + '…' : shown;
}

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/gu;
