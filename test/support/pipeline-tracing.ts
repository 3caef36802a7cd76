// The session pipeline ring's instruments: a protocol adapter that records what the pipeline asks
// of it and lets a test act as client or target, and decorators over the real journal and
// credentials that record the order of the steps. Nothing here stands in for a real peer.
import type { Identity, ProtocolAdapter, SessionContext, SessionRefusal } from '../../gateway/session/adapter.js';
import type { Credentials, IssuedCredential, UpstreamCredential } from '../../gateway/session/credentials.js';
import type { SessionJournal } from '../../gateway/session/ports.js';
import type { TerminationReason } from '../../gateway/session/termination.js';
import { UpstreamFailure } from '../../gateway/session/upstream-failure.js';
import type { UserRecord } from '../../gateway/store/records.js';

export interface Upstream { open: boolean }

/** A protocol adapter that records what the pipeline asks of it and lets the test act as client or target. */
export class TestAdapter implements ProtocolAdapter<Upstream> {
  readonly protocol = 'postgres';
  readonly frontEnd = 'postgres';
  readonly clientAddr = '192.0.2.7';
  ctx: SessionContext | null = null;
  secretSeen = '';
  credential: UpstreamCredential | null = null;
  upstream: Upstream | null = null;
  failConnect = false;
  constructor(private readonly steps: string[], private readonly user: UserRecord, private readonly target = 'db01') {}

  identify(): Promise<Identity> {
    this.steps.push('adapter.identify');
    return Promise.resolve({ kind: 'user', user: this.user, target: this.target });
  }

  refuse(r: SessionRefusal): void {
    this.steps.push(`adapter.refuse:${r.kind}`);
  }

  connect(ctx: SessionContext, credential: UpstreamCredential): Promise<Upstream> {
    this.steps.push('adapter.connect');
    this.ctx = ctx;
    this.credential = credential;
    this.secretSeen = credential.secret.toString();
    credential.wipe();
    if (this.failConnect) return Promise.reject(new UpstreamFailure('unreachable', 'cannot connect to db01'));
    this.upstream = { open: true };
    return Promise.resolve(this.upstream);
  }

  release(u: Upstream): void {
    this.steps.push('adapter.release');
    u.open = false;
  }

  relay(ctx: SessionContext): void {
    this.steps.push('adapter.relay');
    ctx.taps.statement({ sql: 'select 1' });
  }

  warn(message: string): void {
    this.steps.push(`adapter.warn:${message}`);
  }

  close(reason: TerminationReason): void {
    this.steps.push(`adapter.close:${reason}`);
    if (this.upstream) this.upstream.open = false;
  }

  /** The client sends a statement (activity for the idle timeout, and a gate check). */
  statement(sql: string): string {
    this.ctx!.activity();
    return this.ctx!.check({ kind: 'sql', protocol: 'postgres', path: 'simple', text: sql }).verdict;
  }
}

export function tracingJournal(inner: SessionJournal, steps: string[]): SessionJournal {
  return {
    started: async (s) => { steps.push('journal.started'); await inner.started(s); },
    ended: async (s, at, r) => { steps.push(`journal.ended:${r}`); await inner.ended(s, at, r); },
    upstreamFailed: async (s, k) => { steps.push(`journal.upstream_failed:${k}`); await inner.upstreamFailed(s, k); },
    weakUpstreamAuth: async (s, m) => { steps.push(`journal.weak_auth:${m}`); await inner.weakUpstreamAuth(s, m); },
    statements: async (s, n) => { steps.push(`journal.statements:${n}`); await inner.statements(s, n); },
    forwarded: (s, f) => inner.forwarded(s, f),
    gated: async (s, g) => { steps.push(`journal.gated:${g.verdict}`); await inner.gated(s, g); },
    credentialRevokeFailed: async (s, src, e) => { steps.push('journal.revoke_failed'); await inner.credentialRevokeFailed(s, src, e); },
    index: async (s) => { steps.push('journal.index'); await inner.index(s); },
  };
}

export function tracingCredentials(inner: Credentials, steps: string[], opts: { failRevoke?: boolean } = {}): Credentials & { revoked: IssuedCredential[] } {
  const revoked: IssuedCredential[] = [];
  return {
    revoked,
    issue: async (g, target) => { steps.push('credentials.issue'); return inner.issue(g, target); },
    revoke: async (c) => {
      steps.push('credentials.revoke');
      revoked.push(c);
      if (opts.failRevoke) throw new Error('target unreachable for revoke');
      await inner.revoke(c);
    },
  };
}

