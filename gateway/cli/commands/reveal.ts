// session reveal: decrypts one sealed masked-input span through the API (admins only; the gateway
// audits `session.revealed` before it answers). The keystrokes go to stdout in a form a terminal
// shows safely: control characters are shown as escapes (typed escape sequences must not rewrite
// the admin's screen); `--json` gives the exact text too. Where it came from and what is missing
// go to stderr. Nothing is written anywhere else. Without --at it lists where the spans are.
import type { MaskedSpanList, RevealedSpan } from '../../api-types.js';
import { parseClockTime as parseAt } from '../../util/duration.js';
import { type Command, type CommandContext, enc, usage } from '../command.js';
import { printList } from '../output.js';

/** Where the masked spans are, to pick a T: times and sizes, nothing decrypted, nothing audited. */
async function listSpans(c: CommandContext, id: string, channel: number | undefined): Promise<number> {
  const l = await c.api().get<MaskedSpanList>(`/api/v1/sessions/${enc(id)}/masked${channel === undefined ? '' : `?channel=${channel}`}`);
  if (c.json) {
    c.out.write(JSON.stringify(l, null, 2) + '\n');
    return 0;
  }
  printList(c.out, false, l.spans.map((s) => ({ channel: l.channel, span: s.span, at: s.t.toFixed(3), pieces: s.pieces })), ['channel', 'span', 'at', 'pieces']);
  if (l.more) c.out.error(`note: only the first ${l.spans.length} spans are listed; --at reaches any of them\n`);
  if (l.unreadable) c.out.error(`note: ${l.unreadable} sealed input events could not be read\n`);
  return 0;
}

const USAGE = 'portcullis session reveal ID [--at T | --span N] [--channel N] [--reason TEXT]   (T: seconds, or M:SS as the player shows; neither: list the masked spans)';

export const sessionRevealCmd: Command = async (c) => {
  const id = c.flags.positionals[1];
  const atText = c.flags.opt('at');
  if (!id) usage(USAGE);
  const channelText = c.flags.opt('channel');
  const channel = channelText === undefined ? undefined : Number(channelText);
  if (channel !== undefined && !(Number.isInteger(channel) && channel > 0)) usage(USAGE);
  const spanText = c.flags.opt('span');
  if (atText === undefined && spanText === undefined) return listSpans(c, id, channel);
  if (atText !== undefined && spanText !== undefined) usage(USAGE);
  const at = atText === undefined ? undefined : parseAt(atText);
  const span = spanText === undefined ? undefined : Number(spanText);
  if (at === null || (span !== undefined && !(Number.isInteger(span) && span > 0))) usage(USAGE);
  const reason = c.flags.opt('reason');
  const r = await c.api().post<RevealedSpan>(`/api/v1/sessions/${enc(id)}/reveal`, {
    ...(at !== undefined ? { at } : {}), ...(span !== undefined ? { span } : {}),
    ...(channel !== undefined ? { channel } : {}), ...(reason !== undefined ? { reason } : {}),
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
