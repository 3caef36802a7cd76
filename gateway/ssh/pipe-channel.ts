// The client-to-target leg of a session channel without a terminal that is not a file transfer
// (`ssh -T host`, `ssh host bash < script.sh`, `ssh host sh -s`, `ssh host cmd` with stdin).
// Every chunk the client sends is handed to the recording first and forwarded only once recorded:
// when the recording refuses it (the session's input cap, ssh.pipeInputCap) it never reaches the
// target and the pipeline is already ending the session. The target's stdout and stderr are tapped
// apart, so a replay can tell them apart. Backpressure as `pipe`: a full upstream pauses the client.
// It decides nothing about the cap itself (the recorder counts, the pipeline ends the session).
import type ssh2 from 'ssh2';
import type { PipeTap } from '../../recorder/taps.js';
import type { SessionContext } from '../session/adapter.js';
import { writeOrPause } from '../util/relay-sockets.js';

/** Where the client's input goes after the tap: straight to the target, or through a gate (stdin-line-gate.ts). */
export interface PipeInput {
  input(d: Buffer): void;
  end(): void;
}

export function relayPipe(ch: ssh2.ServerChannel, upCh: ssh2.ClientChannel, tap: PipeTap, ctx: SessionContext, to?: PipeInput): void {
  let refused = false;
  ch.on('data', ctx.guard((d: Buffer) => {
    if (refused) return;
    // Aborted: the session is ending (a cap, the recording budget, a cut); the sink may already have
    // dropped this chunk, so it must not reach the target either.
    if (!tap.input(d) || ctx.signal.aborted) {
      refused = true;
      ch.pause();
      return;
    }
    if (to) to.input(d);
    else writeOrPause(upCh, d, ch);
  }));
  ch.once('end', () => {
    if (!refused) tap.marker('end of input');
    if (to) to.end();
    else upCh.end();
  });
  upCh.on('data', ctx.guard((d: Buffer) => tap.stdout(d)));
  upCh.stderr.on('data', ctx.guard((d: Buffer) => tap.stderr(d)));
}
