// session reveal: decrypts one sealed masked-input span through the API (admins only; the gateway
// audits `session.revealed` before it answers). The keystrokes go to stdout in a form a terminal
// shows safely: control characters are shown as escapes (typed escape sequences must not rewrite
// the admin's screen); `--json` gives the exact text too. Where it came from and what is missing
// go to stderr. Nothing is written anywhere else.
import type { RevealedSpan } from '../../api-types.js';
import { parseClockTime as parseAt } from '../../util/duration.js';
import { type Command, enc, usage } from '../command.js';

const USAGE = 'portcullis session reveal ID --at T [--channel N] [--reason TEXT]   (T: seconds, or M:SS as the player shows)';

export const sessionRevealCmd: Command = async (c) => {
  const id = c.flags.positionals[1];
  const atText = c.flags.opt('at');
  if (!id || !atText) usage(USAGE);
  const at = parseAt(atText);
  if (at === null) usage(USAGE);
  const channelText = c.flags.opt('channel');
  const channel = channelText === undefined ? undefined : Number(channelText);
  if (channel !== undefined && !(Number.isInteger(channel) && channel > 0)) usage(USAGE);
  const reason = c.flags.opt('reason');
  const r = await c.api().post<RevealedSpan>(`/api/v1/sessions/${enc(id)}/reveal`, {
    at, ...(channel !== undefined ? { channel } : {}), ...(reason !== undefined ? { reason } : {}),
  });
  if (c.json) {
    c.out.write(JSON.stringify(r, null, 2) + '\n');
    return 0;
  }
  c.out.error(`masked input ${r.span} of channel ${r.channel}, at ${r.t.toFixed(1)}s (${r.bytes} bytes; this reveal is in the audit log):\n`);
  c.out.write(r.visible.endsWith('\n') ? r.visible : r.visible + '\n');
  if (r.truncated) c.out.error(`note: only the first ${Buffer.byteLength(r.text)} of ${r.bytes} bytes are shown\n`);
  if (r.missing.length) c.out.error(`note: pieces ${r.missing.join(', ')} of this span are missing from the recording\n`);
  return 0;
};
