// The gateway's side of a PostgreSQL target's authentication exchange, sans-I/O: each
// Authentication* message body in, the bytes to answer (or nothing) out. SCRAM-SHA-256 is the
// normal path and the server must prove it knows the password (a valid SASLFinal signature, checked
// in constant time) before AuthenticationOk is believed. Cleartext, MD5 and a login without any
// exchange go through the target's UpstreamAuthPolicy, which refuses them before anything is sent
// unless the target opted in (and then reports the use, for the audit). Does not touch sockets,
// TLS, or messages other than 'R'; the caller (upstream.ts) frames and sends.
import { createHash, pbkdf2 } from 'node:crypto';
import { serialize } from 'pg-protocol';
import type { UpstreamAuthPolicy } from '../session/upstream-auth.js';
import { UpstreamFailure } from '../session/upstream-failure.js';
import { PgReader } from './wire/frames.js';
import { ScramClient } from './wire/scram.js';

const AUTH_OK = 0;
const CLEARTEXT = 3;
const MD5 = 5;
const SASL = 10;
const SASL_CONTINUE = 11;
const SASL_FINAL = 12;

/**
 * PostgreSQL's default SCRAM iteration count. Without verified TLS the server's count is not to be
 * trusted below it: an impostor choosing i=1 gets a proof it can test guesses against cheaply.
 */
const MIN_UNVERIFIED_ITERATIONS = 4096;

/** A server lists a handful of mechanisms; past this it is not a PostgreSQL server. */
const MAX_MECHANISMS = 16;

type State = 'start' | 'password-sent' | 'scram-first-sent' | 'scram-final-sent' | 'server-verified' | 'done';

export class PgUpstreamAuth {
  private state: State = 'start';
  private scram: ScramClient | null = null;

  constructor(private readonly policy: UpstreamAuthPolicy, private readonly account: string, private readonly password: () => string) {}

  /** AuthenticationOk was received and believed. */
  get done(): boolean {
    return this.state === 'done';
  }

  /**
   * One Authentication* message body (after the type byte and length); the reply to send, if any.
   * The SCRAM client-final comes as a promise: its PBKDF2 (the server picks the iteration count, up
   * to 10 million, seconds of CPU) runs off the event loop; send nothing else until it settles.
   */
  request(body: Buffer): Buffer | null | Promise<Buffer> {
    const r = new PgReader(body);
    const code = r.int32();
    const t = this.policy.target;
    switch (code) {
      case AUTH_OK:
        return this.ok();
      case CLEARTEXT:
        this.expect('start', code);
        this.policy.useWeak('pg-cleartext');
        this.state = 'password-sent';
        return serialize.password(this.password());
      case MD5: {
        this.expect('start', code);
        const salt = r.bytes(4);
        this.policy.useWeak('pg-md5');
        const inner = createHash('md5').update(this.password() + this.account).digest('hex');
        this.state = 'password-sent';
        return serialize.password('md5' + createHash('md5').update(inner).update(salt).digest('hex'));
      }
      case SASL: {
        this.expect('start', code);
        const mechs: string[] = [];
        for (let m = r.cstring(); m !== ''; m = r.cstring()) {
          if (mechs.length === MAX_MECHANISMS) throw new UpstreamFailure('protocol', `${t} listed too many SASL mechanisms`);
          mechs.push(m);
        }
        if (!mechs.includes('SCRAM-SHA-256')) {
          // Channel binding (-PLUS) alone would need tls-server-end-point, which the gateway does
          // not do; offering SCRAM-SHA-256 beside it is what PostgreSQL does, and we take that.
          const what = mechs.includes('SCRAM-SHA-256-PLUS') ? 'only SCRAM-SHA-256-PLUS (channel binding), which the gateway does not support'
            : `no mechanism the gateway supports (${mechs.map((m) => m.slice(0, 40)).join(', ').slice(0, 200) || 'none'})`;
          throw new UpstreamFailure('auth-unsupported', `refused to log in to ${t}: the target offers ${what}; allow SCRAM-SHA-256 for this account on the target`);
        }
        this.scram = new ScramClient(this.password());
        this.state = 'scram-first-sent';
        return serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', this.scram.first());
      }
      case SASL_CONTINUE: {
        this.expect('scram-first-sent', code);
        this.state = 'scram-final-sent';
        const scram = this.scram!;
        const serverFirst = r.rest().toString('utf8');
        const { salt, iterations } = scram.serverParams(serverFirst);
        if (iterations < MIN_UNVERIFIED_ITERATIONS && !this.policy.tlsVerified) this.policy.useWeak('pg-scram-few-iterations');
        return saltedAsync(this.password(), salt, iterations).then((salted) => {
          try {
            return serialize.sendSCRAMClientFinalMessage(scram.finalWith(serverFirst, salted));
          } finally {
            salted.fill(0);
          }
        });
      }
      case SASL_FINAL:
        this.expect('scram-final-sent', code);
        if (!this.scram!.verify(r.rest().toString('utf8'))) throw impostor(t, 'its SCRAM server signature is wrong');
        this.state = 'server-verified';
        return null;
      default:
        throw new UpstreamFailure('auth-unsupported', `refused to log in to ${t}: the target asks for an authentication method the gateway does not support (${code})`);
    }
  }

  private ok(): null {
    switch (this.state) {
      case 'server-verified':
      case 'password-sent':
        break;
      case 'start':
        // No exchange at all: fine where TLS already showed it is the target (trust on a
        // verified connection), else nothing shows it is the genuine server.
        if (!this.policy.tlsVerified) this.policy.useWeak('pg-no-authentication');
        break;
      case 'scram-first-sent':
      case 'scram-final-sent':
        throw impostor(this.policy.target, 'it accepted the login without proving it knows the password (AuthenticationOk without the SCRAM server signature)');
      case 'done':
        throw new UpstreamFailure('protocol', `${this.policy.target} sent AuthenticationOk twice`);
    }
    this.state = 'done';
    return null;
  }

  private expect(state: State, code: number): void {
    if (this.state !== state) throw new UpstreamFailure('protocol', `${this.policy.target} sent authentication message ${code} out of order`);
  }
}

function impostor(target: string, why: string): UpstreamFailure {
  return new UpstreamFailure('server-auth-failed', `refused the session on ${target}: ${why}; it may not be the genuine target`);
}

/** SCRAM's SaltedPassword (as access/scram-verifier.ts saltedPassword), on libuv's pool. */
function saltedAsync(password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256', (err, key) => (err ? reject(err) : resolve(key)));
  });
}
