// The gateway's side of a MySQL/MariaDB target's authentication, sans-I/O: the first answer for
// the HandshakeResponse, then each AuthSwitchRequest and AuthMoreData payload in, the bytes to send
// out. Challenge-response (mysql_native_password, caching_sha2_password's fast path) is always
// fine. The password itself (mysql_clear_password; sha256_password and caching_sha2_password full
// authentication) goes in clear only over TLS that verified the server, RSA-encrypted (without TLS)
// only with a key whose fingerprint matches the target's pin (asked for, compared, never trusted as
// sent), and otherwise only where the target opted in to weak authentication (the policy throws or
// records).
// An RSA key the server sends without being asked is refused. Does not touch sockets or TLS.
import type { UpstreamAuthPolicy } from '../session/upstream-auth.js';
import { UpstreamFailure } from '../session/upstream-failure.js';
import { nativeScramble, sha2RsaEncrypt, sha2Scramble } from './wire/auth-scramble.js';
import { MyReader } from './wire/packets.js';
import { rsaKeyFingerprint } from './wire/rsa-key.js';

const NATIVE = 'mysql_native_password';
const SHA2 = 'caching_sha2_password';
const SHA256 = 'sha256_password';
const CLEAR = 'mysql_clear_password';

// caching_sha2_password AuthMoreData codes, and the public-key requests of both RSA plugins.
const FAST_AUTH_OK = 0x03;
const PERFORM_FULL_AUTH = 0x04;
const SHA2_REQUEST_KEY = 0x02;
const SHA256_REQUEST_KEY = 0x01;

/** A genuine server switches once (to the account's plugin); past this it is going in circles. */
const MAX_SWITCHES = 2;

export class MyUpstreamAuth {
  private plugin = NATIVE;
  private nonce: Buffer = Buffer.alloc(0);
  private awaitingKey = false;
  private switches = 0;

  /** `tlsActive`: the leg runs over TLS (verified or not; the policy says whether it verified). */
  constructor(private readonly policy: UpstreamAuthPolicy, private readonly password: Buffer, private readonly tlsActive: boolean) {}

  /** The plugin and the answer for the HandshakeResponse: a scramble, never the password itself. */
  start(greetingPlugin: string | null, nonce: Buffer): { plugin: string; response: Buffer } {
    this.plugin = greetingPlugin === SHA2 ? SHA2 : NATIVE;
    this.nonce = nonce;
    return { plugin: this.plugin, response: this.scramble() };
  }

  /** An AuthSwitchRequest payload (0xfe, plugin name, plugin data): the answer. */
  switchTo(payload: Buffer): Buffer {
    const t = this.policy.target;
    if (++this.switches > MAX_SWITCHES) throw new UpstreamFailure('protocol', `${t} switched authentication plugins too often`);
    if (payload.length === 1) throw unsupported(t, 'mysql_old_password');
    const r = new MyReader(payload);
    r.u8();
    this.plugin = r.cstring().slice(0, 64);
    const data = r.rest();
    // Plugin data is the 20-byte nonce, usually NUL-terminated.
    this.nonce = Buffer.from(data.subarray(0, data.length > 0 && data[data.length - 1] === 0 ? data.length - 1 : data.length).subarray(0, 20));
    this.awaitingKey = false;
    switch (this.plugin) {
      case NATIVE:
      case SHA2:
        return this.scramble();
      case CLEAR:
        if (!this.policy.tlsVerified) this.policy.useWeak('mysql-cleartext');
        return this.clear();
      case SHA256:
        return this.fullAuth(SHA256_REQUEST_KEY);
      default:
        throw unsupported(t, this.plugin);
    }
  }

  /** An AuthMoreData payload (after the 0x01): the answer, or null to wait for the next packet. */
  moreData(data: Buffer): Buffer | null {
    const t = this.policy.target;
    if (this.awaitingKey) {
      this.awaitingKey = false;
      return this.encryptWith(data.toString('latin1'));
    }
    if (this.plugin === SHA2 && data.length === 1 && data[0] === FAST_AUTH_OK) return null;
    if (this.plugin === SHA2 && data.length === 1 && data[0] === PERFORM_FULL_AUTH) return this.fullAuth(SHA2_REQUEST_KEY);
    if (data.includes('PUBLIC KEY-----')) {
      throw new UpstreamFailure('server-auth-failed', `refused the session on ${t}: the target sent an RSA key the gateway did not ask for; it may not be the genuine target`);
    }
    throw new UpstreamFailure('protocol', `unexpected authentication data from ${t} (${this.plugin})`);
  }

  /** The password as the plugin's full authentication carries it: in clear over verified TLS, else RSA. */
  private fullAuth(requestKey: number): Buffer {
    if (this.policy.tlsVerified) return this.clear();
    // Over TLS the server reads the next packet as the password in clear (it does no RSA there, so
    // a pinned key cannot help): unverified TLS hands it to whoever terminated the TLS.
    if (this.tlsActive) {
      this.policy.useWeak('mysql-cleartext');
      return this.clear();
    }
    // Without TLS: RSA, to the pinned key, or (opted in) to whatever key the server sends.
    if (this.policy.rsaKeyFingerprint === null) this.policy.useWeak('mysql-rsa-unpinned');
    this.awaitingKey = true;
    return Buffer.from([requestKey]);
  }

  private encryptWith(pem: string): Buffer {
    const t = this.policy.target;
    let fp: string;
    try {
      fp = rsaKeyFingerprint(pem);
    } catch {
      throw new UpstreamFailure('protocol', `${t} sent something that is not an RSA public key when asked for one`);
    }
    const pin = this.policy.rsaKeyFingerprint;
    // A pin always holds, even where weak authentication is allowed: a different key is not weak, it is not the target.
    if (pin !== null && fp !== pin) {
      throw new UpstreamFailure('rsa-key-mismatch', `refused to log in to ${t}: the target's RSA key (${fp}) is not the pinned one (${pin}); `
        + 'it may not be the genuine target. If the server\'s key really changed, add the target again with the new key (--mysql-rsa-key FILE)');
    }
    return sha2RsaEncrypt(this.password, this.nonce, pem);
  }

  private scramble(): Buffer {
    return this.plugin === SHA2 ? sha2Scramble(this.password, this.nonce) : nativeScramble(this.password, this.nonce);
  }

  private clear(): Buffer {
    return Buffer.concat([this.password, Buffer.from([0])]);
  }
}

function unsupported(target: string, plugin: string): UpstreamFailure {
  return new UpstreamFailure('auth-unsupported', `refused to log in to ${target}: the target asks for an authentication plugin the gateway does not support (${plugin})`);
}
