// What the gateway's greeting says before it knows the target: the server version and
// capabilities of the MySQL targets, learned by probing them at start and refreshed by every
// upstream login. Drivers and GUI tools make decisions on the version string, so it is the real
// one, not made up. With several targets of different servers the most recently seen one is used,
// and capabilities are the intersection of all seen (so no client picks a feature a target lacks).
import type { Greeting } from './wire/handshake.js';
import { CAP } from './wire/capabilities.js';

const FALLBACK: Omit<Greeting, 'connectionId' | 'nonce' | 'plugin'> = {
  serverVersion: '5.5.5-10.11.0-MariaDB', caps: 0xf7fefffe & ~CAP.COMPRESS, extCaps: 0, charset: 45, status: 2,
};

// Features the relay does not carry: compression, query attributes, multi-factor auth.
const STRIP = CAP.COMPRESS | CAP.ZSTD | CAP.QUERY_ATTRIBUTES | CAP.MULTI_FACTOR_AUTH | CAP.SSL_VERIFY_SERVER_CERT | CAP.LOCAL_FILES;
const ADD = CAP.SSL | CAP.PLUGIN_AUTH | CAP.SECURE_CONNECTION | CAP.PROTOCOL_41 | CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA;

export class GreetingCache {
  private latest: Greeting | null = null;
  private caps = -1;
  private extCaps = -1;

  learn(g: Greeting): void {
    this.latest = g;
    this.caps = this.caps === -1 ? g.caps : this.caps & g.caps;
    this.extCaps = this.extCaps === -1 ? g.extCaps : this.extCaps & g.extCaps;
  }

  forClients(): Omit<Greeting, 'connectionId' | 'nonce' | 'plugin'> {
    const base = this.latest ?? { ...FALLBACK, connectionId: 0, nonce: Buffer.alloc(0), plugin: '' };
    const caps = this.caps === -1 ? base.caps : this.caps;
    return {
      serverVersion: base.serverVersion, charset: base.charset, status: 2,
      caps: ((caps & ~STRIP) | ADD) >>> 0, extCaps: this.extCaps === -1 ? base.extCaps : this.extCaps,
    };
  }
}
