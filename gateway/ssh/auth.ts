// SSH authentication, translated: each ssh2 auth request becomes a call to the shared
// Authenticator and the pipeline's Authorizer (the AccessDecider). Methods: publickey (registered
// keys), password, and keyboard-interactive (a password, then a "Verification code" round unless the
// password alone authenticated; after a key, just the code when the user has one; an empty password
// instead asks for approval in the browser, see browserRound). Before
// authentication every name sees the same: one method list, the same prompts in the same order
// (a wrong password, an unknown name and a user with a code all get the code round, and fail at its
// end), so nothing tells who exists or who has a code. Authorization happens here too, so a wrong
// target or a missing grant is refused at auth; its message reaches the user as the instruction
// text of a keyboard-interactive request with no prompts, which OpenSSH prints. No listener decides
// anything: ssh2 rejects what we don't accept.
// A publickey request may carry an OpenSSH certificate from `portcullis login` instead of a
// registered key (issue 18): the SshCertificateService checks it, the sign-in it came from and
// the client's signature. No one-time code is asked after a certificate: the sign-in that got it
// already required the code (password logins of users with one) or the identity provider's.
import ssh2 from 'ssh2';
import type { Authenticator, PendingCode } from '../access/authn.js';
import type { HandoffService } from '../identity/handoffs.js';
import type { BrowserWaits } from './browser-waits.js';
import type { SshCertificateService } from '../access/ssh-certificates.js';
import { CERT_TYPE } from './certs/certificate.js';
import { LINK_SSH_USER, type LinkService } from '../access/links.js';
import type { Logger } from '../log/logger.js';
import type { Authorization, GrantRecord, TargetRecord, UserRecord } from '../session/adapter.js';
import type { Authorizer } from '../session/ports.js';
import { parsePrincipal, type Principal } from '../session/principal.js';
import { isPortcullisError } from '../util/errors.js';
import { terminalSafe } from '../util/terminal-safe.js';

export type SshAuthResult =
  | { kind: 'authorized'; auth: Authorization }
  | { kind: 'menu'; user: UserRecord; choices: Array<{ grant: GrantRecord; target: TargetRecord }> };

type Method = 'publickey' | 'password' | 'keyboard-interactive';

/** The same for every name, before and after a failure. */
const METHODS: Method[] = ['publickey', 'password', 'keyboard-interactive'];
const TITLE = 'Portcullis';
// "one-time password" also makes sshpass (which answers only prompts saying "password") stop with
// "wrong password" at this round instead of waiting forever for an answer it will never give.
const CODE_PROMPT = 'Verification code (one-time password): ';
const CODE_HINT = 'Leave the code empty if your account has none.';
// The prompt stays "Password: " (sshpass and scripts answer it as before); the way to the browser
// is the instruction text above it (OpenSSH prints it at its default LogLevel). An empty answer asks
// for the browser (the same for every name: it begins a handoff whoever the name is).
const BROWSER_HINT = 'Password, or press Enter with none to approve this login in your browser where you are signed in.';
const APPROVED_PROMPT = 'Press Enter once approved: ';
/** How long a login waiting for the browser may stay unauthenticated (the handoff lives 10 min). */
const BROWSER_WAIT_MS = 5 * 60_000;
/** Enter pressed before the approval: asked again, this many times at most. */
const BROWSER_ROUNDS = 20;

/** The keyboard-interactive login approved in the browser (identity/handoffs.ts). */
export interface BrowserApproval {
  service: Pick<HandoffService, 'begin' | 'claimSsh'>;
  approvalUrl: (id: string) => string;
  /** Gives this connection longer than the auth timeout while the person approves. */
  extendAuth: (ms: number) => void;
  /** The cap on connections waiting at once (browser-waits.ts). */
  waits: BrowserWaits;
  /** Called once when this connection closes (a wait's slot is given back then at the latest). */
  onClose: (fn: () => void) => void;
}

export class SshAuthFlow {
  result: SshAuthResult | null = null;
  private firstFactor: UserRecord | null = null;
  private refusal: string | null = null;
  private refusalShown = false;

  constructor(
    private readonly authn: Authenticator,
    private readonly certs: Pick<SshCertificateService, 'probe' | 'login'>,
    private readonly authorizer: Authorizer,
    private readonly links: LinkService,
    private readonly addr: string,
    private readonly log: Logger,
    /** Called once the refusal was shown: the connection ends instead of inviting retries. */
    private readonly onRefused: () => void,
    private readonly browser: BrowserApproval | null = null,
  ) {}

  handle(ctx: ssh2.AuthContext): void {
    const isLink = LINK_SSH_USER.test(ctx.username);
    const principal = isLink ? null : parsePrincipal(ctx.username);
    if (!isLink && !principal) return ctx.reject();
    void (principal ? this.dispatch(ctx, principal) : this.linkLogin(ctx)).catch((err: unknown) => {
      this.log.warn({ err: isPortcullisError(err) ? err.code : String(err) }, 'ssh.auth_error');
      ctx.reject();
    });
  }

  private async dispatch(ctx: ssh2.AuthContext, p: Principal): Promise<void> {
    if (this.refusal !== null) return this.showRefusal(ctx);
    switch (ctx.method) {
      case 'publickey':
        return this.publicKey(ctx, p);
      case 'password': {
        // One round only: the password authenticates a user without a code; anything else fails
        // here alike (a user with a code logs in by keyboard-interactive, which has a second round).
        const step = await this.passwordStep(p.user, ctx.password, 'ssh-password');
        if (step?.kind === 'authenticated') return this.finish(ctx, p, step.user);
        if (this.refusal !== null) return this.refuse(ctx, this.refusal);
        return ctx.reject(METHODS);
      }
      case 'keyboard-interactive':
        return this.keyboard(ctx, p);
      default:
        return ctx.reject(METHODS);
    }
  }

  private async publicKey(ctx: ssh2.PublicKeyAuthContext, p: Principal): Promise<void> {
    if (ctx.key.algo === CERT_TYPE) return this.certificate(ctx, p);
    const blob = ctx.key.data;
    const matches = (line: string): boolean => {
      const [, b64] = line.split(' ');
      return b64 !== undefined && Buffer.from(b64, 'base64').equals(blob);
    };
    if (!ctx.signature || !ctx.blob) {
      // A probe: "would you accept this key?" No signature yet, so nothing is proven. Answering it
      // tells only someone who holds the public key already that it is registered (as OpenSSH does).
      return (await this.authn.hasKey(p.user, matches)) ? ctx.accept() : ctx.reject(METHODS);
    }
    const signature = ctx.signature;
    const signed = ctx.blob;
    let user: UserRecord;
    try {
      user = await this.authn.publicKeyLogin(p.user, matches, () => {
        // parseKey reads the SSH wire-format public key blob the client sent.
        const key = ssh2.utils.parseKey(blob);
        return !(key instanceof Error) && key.verify(signed, signature, ctx.hashAlgo) === true;
      }, this.addr);
    } catch (err) {
      if (isPortcullisError(err) && (err.code === 'user-disabled' || err.code === 'store-unavailable')) return this.refuse(ctx, err.message);
      return ctx.reject(METHODS);
    }
    // The key is proven: from here on the user is known, and a code is asked only if enrolled.
    if (user.totpSealed !== null) {
      this.firstFactor = user;
      return ctx.reject(['keyboard-interactive'], true);
    }
    return this.finish(ctx, p, user);
  }

  /**
   * A certificate of ours. The probe is answered yes only for one that would log in now; the signed
   * request is checked whole (certificate, sign-in, signature) and needs no second factor.
   */
  private async certificate(ctx: ssh2.PublicKeyAuthContext, p: Principal): Promise<void> {
    if (!ctx.signature || !ctx.blob) return (await this.certs.probe(p.user, ctx.key.data, this.addr)) ? ctx.accept() : ctx.reject(METHODS);
    let user: UserRecord;
    try {
      user = await this.certs.login(p.user, ctx.key.data, ctx.blob, ctx.signature, this.addr);
    } catch (err) {
      if (isPortcullisError(err) && (err.code === 'user-disabled' || err.code === 'store-unavailable')) return this.refuse(ctx, err.message);
      return ctx.reject(METHODS);
    }
    return this.finish(ctx, p, user);
  }

  private keyboard(ctx: ssh2.KeyboardAuthContext, p: Principal): void {
    if (this.firstFactor) {
      const user = this.firstFactor;
      ctx.prompt([{ prompt: 'Verification code: ', echo: true }], TITLE, (answers) => {
        void this.authn.secondFactor(user, answers[0] ?? '', this.addr, 'ssh-publickey').then(
          (second) => this.finish(ctx, p, second),
          () => ctx.reject(['keyboard-interactive']),
        ).catch(() => ctx.reject());
      });
      return;
    }
    ctx.prompt([{ prompt: 'Password: ', echo: false }], TITLE, this.browser ? BROWSER_HINT : '', (answers) => {
      if (this.browser && (answers[0] ?? '') === '') return this.browserRound(ctx, p, this.browser);
      void this.passwordStep(p.user, answers[0] ?? '', 'ssh-keyboard-interactive').then((step) => {
        if (step === null) return this.finish(ctx, p, null);
        if (step.kind === 'authenticated') return this.finish(ctx, p, step.user);
        this.codeRound(ctx, p, step.pending);
      }).catch(() => ctx.reject(METHODS));
    });
  }

  /**
   * An empty password: the login is approved in the browser where the person is signed in. The
   * link and code go out as instruction text (OpenSSH prints it); Enter checks the approval. Only
   * an approval by the user the SSH name names authenticates; the usual authorization follows.
   */
  private browserRound(ctx: ssh2.KeyboardAuthContext, p: Principal, b: BrowserApproval): void {
    const release = b.waits.take(this.addr);
    if (!release) {
      this.refusal = 'too many logins from this address are waiting for approval in the browser; finish or close those first';
      return this.finish(ctx, p, null);
    }
    b.onClose(release);
    void b.service.begin('ssh', { user: p.user, target: p.target }, this.addr).then((h) => {
      b.extendAuth(BROWSER_WAIT_MS);
      const who = terminalSafe(p.user);
      const text = `Open ${b.approvalUrl(h.id)} in the browser where you are signed in as ${who}, check code ${h.code}, approve, then press Enter.`;
      const ask = (round: number, note: string): void => {
        ctx.prompt([{ prompt: APPROVED_PROMPT, echo: false }], TITLE, note + text, () => {
          void b.service.claimSsh(h.id, h.secret, p.user, this.addr).then((claim) => {
            if (claim.state === 'pending' && round < BROWSER_ROUNDS) return ask(round + 1, 'Not approved yet. ');
            release();
            if (claim.state === 'approved') return this.finish(ctx, p, claim.user);
            this.refusal = claim.state === 'refused' ? `login not approved in the browser: ${claim.reason}` : 'login not approved in the browser in time';
            this.finish(ctx, p, null);
          }).catch(() => ctx.reject(METHODS));
        });
      };
      ask(1, '');
    }, (err: unknown) => {
      // Too many begun from this address, or the store down: said in words, like a lock.
      release();
      this.refusal = isPortcullisError(err) ? err.message : 'cannot begin a browser approval now';
      this.finish(ctx, p, null);
    });
  }

  /** The second round, for every name the password did not authenticate alone. */
  private codeRound(ctx: ssh2.KeyboardAuthContext, p: Principal, pending: PendingCode): void {
    ctx.prompt([{ prompt: CODE_PROMPT, echo: true }], TITLE, CODE_HINT, (answers) => {
      void this.authn.codeStep(pending, answers[0] ?? '', this.addr).then(
        (user) => this.finish(ctx, p, user),
        (err: unknown) => {
          if (isPortcullisError(err) && err.code === 'user-disabled') this.refusal = err.message;
          this.finish(ctx, p, null);
        },
      );
    });
  }

  /** The first step of a password login; null when refused outright (locked: shown as the refusal). */
  private async passwordStep(user: string, password: string, method: string): Promise<Awaited<ReturnType<Authenticator['passwordStep']>> | null> {
    try {
      return await this.authn.passwordStep(user, password, this.addr, method);
    } catch (err) {
      // Disabled, locked, or the store unreachable: said in words instead of a silent "denied".
      if (isPortcullisError(err) && (err.code === 'user-disabled' || err.code === 'locked' || err.code === 'store-unavailable')) {
        this.refusal = err.message;
      }
      return null;
    }
  }

  /** Authenticated: now authorize, in the shared decider, and accept or refuse with a message. */
  private finish(ctx: ssh2.AuthContext, p: Principal, user: UserRecord | null): void {
    void this.authorizeUser(ctx, p, user).catch((err: unknown) => {
      this.log.warn({ err: isPortcullisError(err) ? err.code : String(err) }, 'ssh.auth_error');
      if (isPortcullisError(err) && err.code === 'store-unavailable') return this.refuse(ctx, err.message);
      ctx.reject();
    });
  }

  private async authorizeUser(ctx: ssh2.AuthContext, p: Principal, user: UserRecord | null): Promise<void> {
    if (!user) {
      if (this.refusal !== null) return this.refuse(ctx, this.refusal);
      return ctx.reject(METHODS);
    }
    if (p.target !== null) return this.authorizeTarget(ctx, user, p.target, p.level);
    const choices = await this.authorizer.activeGrants(user, 'ssh');
    if (choices.length === 0) {
      return this.refuse(ctx, `no active SSH grant for ${user.name}; request one with: portcullis request TARGET --for 30m --reason "..."`);
    }
    if (choices.length === 1) return this.authorizeTarget(ctx, user, choices[0]!.target.name, choices[0]!.grant.level);
    this.result = { kind: 'menu', user, choices };
    ctx.accept();
  }

  /**
   * The one-time SSH login of a link (`ssh link-<code>@gateway`): the 128-bit code in the user name
   * is the credential, so the first request of any method consumes the link and is accepted; the
   * refusal (used, expired, revoked, unknown) is shown like any other.
   */
  private async linkLogin(ctx: ssh2.AuthContext): Promise<void> {
    if (this.result) return ctx.accept();
    if (this.refusal !== null) return this.showRefusal(ctx);
    try {
      const opened = await this.links.openBySsh(ctx.username, this.addr);
      if (!opened) return ctx.reject();
      this.result = { kind: 'authorized', auth: opened.auth };
      ctx.accept();
    } catch (err) {
      this.refuse(ctx, isPortcullisError(err) ? err.message : 'this link cannot be used');
    }
  }

  private async authorizeTarget(ctx: ssh2.AuthContext, user: UserRecord, target: string, level: string | null): Promise<void> {
    const d = await this.authorizer.authorize(user, target, 'ssh', this.addr, level);
    if (!d.ok) return this.refuse(ctx, d.error.message);
    this.result = { kind: 'authorized', auth: d.auth };
    ctx.accept();
  }

  private refuse(ctx: ssh2.AuthContext, message: string): void {
    this.refusal = message;
    if (ctx.method === 'keyboard-interactive') return this.showRefusal(ctx);
    ctx.reject(['keyboard-interactive']);
  }

  private showRefusal(ctx: ssh2.AuthContext): void {
    if (ctx.method !== 'keyboard-interactive') return ctx.reject(['keyboard-interactive']);
    if (this.refusalShown) return ctx.reject([]);
    this.refusalShown = true;
    // Empty name: OpenSSH prints the instruction text alone.
    ctx.prompt([], '', `Portcullis: ${this.refusal ?? 'access refused'}`, () => {
      ctx.reject([]);
      this.onRefused();
    });
  }
}

