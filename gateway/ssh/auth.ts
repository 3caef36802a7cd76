// SSH authentication, translated: each ssh2 auth request becomes a call to the shared
// Authenticator and the pipeline's Authorizer (the AccessDecider). Methods: publickey (registered keys), password, and
// keyboard-interactive (password, plus "Verification code" when the user has TOTP; after a key, just
// the code). Authorization happens here too, so a wrong target or a missing grant is refused at
// auth; its message reaches the user as the instruction text of a keyboard-interactive request with
// no prompts, which OpenSSH prints. No listener decides anything: ssh2 rejects what we don't accept.
import ssh2 from 'ssh2';
import type { Authenticator } from '../access/authn.js';
import { LINK_SSH_USER, type LinkService } from '../access/links.js';
import type { Logger } from '../log/logger.js';
import type { Authorization, GrantRecord, TargetRecord, UserRecord } from '../session/adapter.js';
import type { Authorizer } from '../session/ports.js';
import { parsePrincipal, type Principal } from '../session/principal.js';
import { isPortcullisError } from '../util/errors.js';

export type SshAuthResult =
  | { kind: 'authorized'; auth: Authorization }
  | { kind: 'menu'; user: UserRecord; choices: Array<{ grant: GrantRecord; target: TargetRecord }> };

type Method = 'publickey' | 'password' | 'keyboard-interactive';

const TITLE = 'Portcullis';

export class SshAuthFlow {
  result: SshAuthResult | null = null;
  private firstFactor: UserRecord | null = null;
  private refusal: string | null = null;
  private refusalShown = false;

  constructor(
    private readonly authn: Authenticator,
    private readonly authorizer: Authorizer,
    private readonly links: LinkService,
    private readonly addr: string,
    private readonly log: Logger,
    /** Called once the refusal was shown: the connection ends instead of inviting retries. */
    private readonly onRefused: () => void,
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
    const needsTotp = await this.authn.needsTotp(p.user);
    const methods: Method[] = needsTotp ? ['publickey', 'keyboard-interactive'] : ['publickey', 'password', 'keyboard-interactive'];
    switch (ctx.method) {
      case 'publickey':
        return this.publicKey(ctx, p, needsTotp);
      case 'password':
        if (needsTotp) return ctx.reject(methods);
        return this.finish(ctx, p, await this.tryLogin(p.user, ctx.password, undefined, 'ssh-password'));
      case 'keyboard-interactive':
        return this.keyboard(ctx, p, needsTotp);
      default:
        return ctx.reject(methods);
    }
  }

  private async publicKey(ctx: ssh2.PublicKeyAuthContext, p: Principal, needsTotp: boolean): Promise<void> {
    const blob = ctx.key.data;
    const matches = (line: string): boolean => {
      const [, b64] = line.split(' ');
      return b64 !== undefined && Buffer.from(b64, 'base64').equals(blob);
    };
    if (!ctx.signature || !ctx.blob) {
      // A probe: "would you accept this key?" No signature yet, so nothing is proven.
      return (await this.authn.hasKey(p.user, matches)) ? ctx.accept() : ctx.reject();
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
      if (isPortcullisError(err) && err.code === 'user-disabled') return this.refuse(ctx, err.message);
      return ctx.reject();
    }
    if (needsTotp) {
      this.firstFactor = user;
      return ctx.reject(['keyboard-interactive'], true);
    }
    return this.finish(ctx, p, user);
  }

  private keyboard(ctx: ssh2.KeyboardAuthContext, p: Principal, needsTotp: boolean): void {
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
    const prompts = [{ prompt: 'Password: ', echo: false }];
    if (needsTotp) prompts.push({ prompt: 'Verification code: ', echo: true });
    ctx.prompt(prompts, TITLE, (answers) => {
      void this.tryLogin(p.user, answers[0] ?? '', answers[1], 'ssh-keyboard-interactive')
        .then((user) => this.finish(ctx, p, user))
        .catch(() => ctx.reject());
    });
  }

  private async tryLogin(user: string, password: string, totp: string | undefined, method: string): Promise<UserRecord | null> {
    try {
      return await this.authn.login({ user, password, totp, addr: this.addr, method });
    } catch (err) {
      if (isPortcullisError(err) && (err.code === 'user-disabled' || err.code === 'locked')) {
        this.refusal = err.message;
      }
      return null;
    }
  }

  /** Authenticated: now authorize, in the shared decider, and accept or refuse with a message. */
  private finish(ctx: ssh2.AuthContext, p: Principal, user: UserRecord | null): void {
    void this.authorizeUser(ctx, p, user).catch((err: unknown) => {
      this.log.warn({ err: isPortcullisError(err) ? err.code : String(err) }, 'ssh.auth_error');
      ctx.reject();
    });
  }

  private async authorizeUser(ctx: ssh2.AuthContext, p: Principal, user: UserRecord | null): Promise<void> {
    if (!user) {
      if (this.refusal !== null) return this.refuse(ctx, this.refusal);
      return ctx.reject();
    }
    if (p.target !== null) return this.authorizeTarget(ctx, user, p.target);
    const choices = await this.authorizer.activeGrants(user, 'ssh');
    if (choices.length === 0) {
      return this.refuse(ctx, `no active SSH grant for ${user.name}; request one with: portcullis request TARGET --for 30m --reason "..."`);
    }
    if (choices.length === 1) return this.authorizeTarget(ctx, user, choices[0]!.target.name);
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

  private async authorizeTarget(ctx: ssh2.AuthContext, user: UserRecord, target: string): Promise<void> {
    const d = await this.authorizer.authorize(user, target, 'ssh', this.addr);
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

