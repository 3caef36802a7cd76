// One TLS context per certificate, made once. A TLSSocket given only `cert` and `key` builds a new
// context for every connection — parsing the PEM and loading the private key, ~3 ms of main-thread
// CPU on this machine — before the handshake has even started: unauthenticated work an attacker can
// ask for hundreds of times a second. Shared, it costs that once (and allows session resumption).
import { createSecureContext, type SecureContext } from 'node:tls';

const contexts = new WeakMap<object, SecureContext>();

export function sharedTlsContext(tls: { cert: string; key: string }): SecureContext {
  let ctx = contexts.get(tls);
  if (!ctx) {
    ctx = createSecureContext({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
    contexts.set(tls, ctx);
  }
  return ctx;
}
