// What every front end looks like to the composition root: something that starts accepting
// connections on a port and stops accepting them at shutdown. It does not end live sessions (the
// live-session registry does that) and knows nothing of protocols or of the CLI.
import type { AddressInfo } from 'node:net';

export interface Listener {
  name: string;
  start(): Promise<AddressInfo>;
  /** Stops accepting new connections; existing ones are ended by the live-session registry. */
  stop(): Promise<void>;
}
