// Reveals a sealed masked-input span of a recorded terminal session: finds the span at a time in a
// channel, opens each piece under the gateway's recording keys with the position it was sealed at
// (a moved or altered piece fails, it is never shown as this span's), then writes the audit event
// `session.revealed` (who, session, channel, span, reason) and only after it is stored returns the
// text. Nothing here logs the text: only the caller's response carries it.
// Also lists where a channel's masked spans are (times only), so a viewer can point at one.
// It does not decide who may reveal (the API route admits admins only) nor where the text goes.
import { existsSync } from 'node:fs';
import { RecordingLayout } from '../../recorder/layout.js';
import { scanMaskedSpans, type SpanOpener, SpanOpening, type SpanStart, startedBy, visibleKeystrokes } from '../../recorder/masked-spans.js';
import type { MaskedSpanList, RevealedSpan } from '../api-types.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Store } from '../store/store.js';
import { PortcullisError } from '../util/errors.js';

/** Text returned by one reveal; a longer span says so (`truncated`, `bytes`). */
export const MAX_REVEAL_BYTES = 1024 * 1024;
/** Spans one listing names; past it, `more` is set (a reveal by time still reaches every span). */
export const MAX_LISTED_SPANS = 5_000;
/** A reason is a sentence for the audit log, not a document. */
const MAX_REASON = 500;

export interface RevealRequest {
  session: string;
  /** Seconds into the channel's recording (the player's clock): the last span started by then. */
  at?: number | undefined;
  /** Or the span's number in its channel (from the list), exact even when two start at one time. */
  span?: number | undefined;
  /** Terminal channel; default the session's first. */
  channel?: number | undefined;
  by: string;
  reason?: string | undefined;
}

export class MaskedInputReveals {
  constructor(
    private readonly store: Store,
    private readonly recordingsDir: string,
    private readonly opener: SpanOpener,
    private readonly audit: AuditLog,
  ) {}

  /** Where a channel's masked spans are (times and sizes only: nothing is decrypted, nothing audited). */
  async list(sessionId: string, wanted?: number): Promise<MaskedSpanList> {
    const { cast, channel } = await this.castOf(sessionId, wanted);
    const spans: MaskedSpanList['spans'] = [];
    const found = await scanMaskedSpans(cast,
      (s) => { if (spans.length < MAX_LISTED_SPANS) spans.push({ span: s.span, t: s.t, pieces: 0 }); },
      (p) => { const s = spans[p.span - 1]; if (s) s.pieces++; });
    return { channel, unreadable: found.unreadable, more: found.spans > spans.length, spans };
  }

  private async castOf(sessionId: string, wanted: number | undefined): Promise<{ id: string; cast: string; channel: number }> {
    const session = await this.store.sessions.byId(sessionId);
    if (!session) throw new PortcullisError('not-found', `no session "${sessionId}"; see "portcullis session list"`);
    const layout = RecordingLayout.of(this.recordingsDir, session.id);
    const channels = layout.castChannels();
    const channel = wanted ?? channels[0];
    if (channel === undefined || !Number.isInteger(channel) || !existsSync(layout.cast(channel))) {
      const has = channels.length ? `it has channel${channels.length > 1 ? 's' : ''} ${channels.join(', ')}` : 'it has no terminal recording';
      throw new PortcullisError('not-found', `session ${session.id} has no terminal recording on channel ${String(wanted)}; ${has}`);
    }
    return { id: session.id, cast: layout.cast(channel), channel };
  }

  async reveal(r: RevealRequest): Promise<RevealedSpan> {
    const { at, span: wanted } = r;
    if ((at === undefined) === (wanted === undefined)) throw new PortcullisError('bad-request', 'give either at (seconds into the recording) or span (its number)');
    if (at !== undefined && !(Number.isFinite(at) && at >= 0)) throw new PortcullisError('bad-request', 'at must be a time in seconds (0 or more)');
    if (wanted !== undefined && !(Number.isInteger(wanted) && wanted >= 1)) throw new PortcullisError('bad-request', 'span must be a whole number from 1');
    const reason = r.reason?.trim() ? r.reason.trim().slice(0, MAX_REASON) : null;
    const { id, cast, channel } = await this.castOf(r.session, r.channel);
    // Two streamed passes (which span, then its pieces): memory stays bounded whatever the file holds.
    let span: SpanStart | undefined;
    const first: number[] = [];
    const { spans: total } = await scanMaskedSpans(cast, (s) => {
      if (first.length < 20) first.push(s.t);
      if (at !== undefined ? startedBy(s.t, at) : s.span === wanted) span = s;
    });
    if (!span) {
      const where = at !== undefined ? `starts at or before ${at}s` : `is number ${String(wanted)}`;
      throw new PortcullisError('not-found', total
        ? `no masked input ${where} on channel ${channel}; masked input starts at: ${first.map((t) => t.toFixed(1)).join(', ')}${total > 20 ? ', …' : ''} (seconds; ${total} spans)`
        : `session ${id} has no masked input on channel ${channel}`);
    }
    const opening = new SpanOpening(this.opener, id, channel, span.span, MAX_REVEAL_BYTES);
    try {
      await scanMaskedSpans(cast, () => {}, (p) => opening.add(p));
    } catch {
      // Never echo tokens or keys: only that this span's record does not authenticate.
      throw new PortcullisError('conflict', `the sealed input at ${span.t.toFixed(1)}s on channel ${channel} does not authenticate: it was altered, moved from elsewhere, or sealed under a key this gateway does not hold`);
    }
    if (opening.pieces === 0) {
      throw new PortcullisError('not-found',
        `the masked input at ${span.t.toFixed(1)}s was recorded without its keystrokes (the policy turns keystroke recording off, or an older gateway recorded it)`);
    }
    const opened = opening.result();
    // Audited before anything is returned: a reveal the log cannot record does not happen.
    await this.audit.append('session.revealed', r.by, { session: id, channel, span: span.span, t: span.t, by: r.by, reason });
    return {
      session: id, channel, span: span.span, t: span.t, text: opened.text, visible: visibleKeystrokes(opened.text), bytes: opened.bytes,
      truncated: opened.truncated, missing: opened.missing,
    };
  }
}
