// Client→server PostgreSQL traffic when gate rules are configured: every command message (simple
// Query, Parse, Bind, Execute, FunctionCall) is held until it is whole, passed to the gate, then
// forwarded or refused in protocol words (ErrorResponse 42501, placed in the reply stream by
// answer-order.ts; after a denied extended-protocol message, everything up to Sync is dropped, as
// the server itself would after an error). Other
// messages stream through as they arrive. With no rules the relay never builds this: bytes pass
// verbatim without it. Translates verdicts; does not make them.
import type { GateCommand, GateVerdict } from '../session/gate.js';
import { PgFrameReader, type PgMessage, PgReader } from './wire/frames.js';
import { argumentLiteral, functionCallText } from './function-names.js';
import { PreparedTexts } from './prepared-texts.js';
import { errorOrNotice } from './wire/server-messages.js';

const COMMANDS = new Set(['Q', 'P', 'B', 'E', 'F']);

export interface ClientGateIo {
  check(cmd: GateCommand): GateVerdict;
  /** Forwards bytes to the target; `type` when they complete a message, null for a streamed part. */
  forward(bytes: Buffer, type: string | null): void;
  /**
   * A refused message's ErrorResponse, for the client in its turn (answer-order.ts): a simple
   * query or function call also gets its ReadyForQuery there; an extended one ends at Sync.
   */
  refuse(type: string, error: Buffer): void;
  /** Feeds a forwarded message to the statement log. */
  logged(m: PgMessage): void;
}

export class PgClientGate {
  private held: Buffer[] = [];
  private readonly prepared = new PreparedTexts();
  private skipToSync = false;
  private readonly frames: PgFrameReader;
  private chunk: Buffer = Buffer.alloc(0);
  private offset = 0;

  constructor(private readonly io: ClientGateIo, limits: { maxMessage: number; statementMax: number }) {
    this.frames = new PgFrameReader((m, end) => {
      this.message(m, this.chunk, this.offset, end);
      this.offset = end;
    }, limits.maxMessage, undefined, limits.statementMax);
  }

  /**
   * Client bytes as they arrive; throws PgProtocolError on malformed framing, PgStatementTooLarge
   * (before anything of that message is held) for a statement over the cap.
   */
  push(chunk: Buffer): void {
    this.chunk = chunk;
    this.offset = 0;
    this.frames.push(chunk);
    this.chunkEnd(chunk, this.offset, this.frames.partialType);
  }

  private message(m: PgMessage, chunk: Buffer, start: number, end: number): void {
    const bytes = this.take(chunk, start, end);
    if (this.skipToSync) {
      if (m.type !== 'S') return;
      this.skipToSync = false;
    }
    const body = bytes.subarray(5);
    if (m.type === 'B' || m.type === 'E') {
      // Checked again with the text it runs, under the rules of now (prepared-texts.ts).
      const refusal = this.runs(m.type, body);
      if (refusal !== null) return this.deny(m.type, refusal);
    } else if (COMMANDS.has(m.type)) {
      // The gate reads the whole held message, never the framer's head: a statement padded past
      // the head limit would otherwise hide its end (the part a rule looks for) from the rules.
      const v = this.io.check(commandOf(m.type, body));
      if (v.verdict === 'deny') return this.deny(m.type, v.message);
    }
    this.remember(m.type, body);
    this.io.logged(m);
    this.io.forward(bytes, m.type);
  }

  /** A Bind's statement or an Execute's portal, each candidate text through the gate: a refusal, or null. */
  private runs(type: 'B' | 'E', body: Buffer): string | null {
    const r = new PgReader(body);
    const portal = r.cstring();
    const texts = type === 'B' ? this.prepared.statement(r.cstring()) : this.prepared.portal(portal);
    if (texts === null) return 'this prepared statement was dropped from the gateway\'s memory (too many held); prepare it again';
    for (const text of texts) {
      const v = this.io.check({ kind: 'sql', protocol: 'postgres', path: type === 'B' ? 'bind' : 'execute', text });
      if (v.verdict === 'deny') return v.message;
    }
    return null;
  }

  /** What a forwarded Parse, Bind or Close changes in the statements and portals the target holds. */
  private remember(type: string, body: Buffer): void {
    if ((type !== 'P' && type !== 'B' && type !== 'C') || body.length === 0) return;
    const r = new PgReader(body);
    if (type === 'P') { const name = r.cstring(); this.prepared.parsed(name, r.cstring()); return; }
    if (type === 'B') { const portal = r.cstring(); this.prepared.bound(portal, r.cstring()); return; }
    const kind = r.bytes(1).toString('latin1');
    if (kind === 'S' || kind === 'P') this.prepared.closed(kind, r.cstring());
  }

  /** At the end of a chunk: a partial non-command message streams on; a partial command waits. */
  private chunkEnd(chunk: Buffer, start: number, partialType: string | null): void {
    if (start >= chunk.length) return;
    if (partialType !== null && !COMMANDS.has(partialType) && !this.skipToSync) {
      this.io.forward(this.take(chunk, start, chunk.length), null);
    } else {
      this.held.push(chunk.subarray(start));
    }
  }

  private take(chunk: Buffer, start: number, end: number): Buffer {
    const part = chunk.subarray(start, end);
    if (this.held.length === 0) return part;
    const all = Buffer.concat([...this.held, part]);
    this.held = [];
    return all;
  }

  private deny(type: string, message: string): void {
    // A simple query and a function call get their ReadyForQuery with the refusal; an
    // extended-protocol message gets it from the target when the client's Sync arrives.
    this.io.refuse(type, errorOrNotice('E', 'ERROR', '42501', `Portcullis: ${message}`));
    if (type !== 'Q' && type !== 'F') this.skipToSync = true;
  }
}

function commandOf(type: string, body: Buffer): GateCommand {
  const r = new PgReader(body);
  switch (type) {
    case 'Q': return { kind: 'sql', protocol: 'postgres', path: 'simple', text: r.cstring() };
    case 'P': { r.cstring(); return { kind: 'sql', protocol: 'postgres', path: 'parse', text: r.cstring() }; }
    default: return functionCall(r);
  }
}

/**
 * A FunctionCall as the SQL it amounts to (postgres/function-names.ts), arguments as literals: an
 * argument can itself be SQL that runs (query_to_xml), so rules read it like a statement. A
 * malformed body is left to the server to refuse; the rules see what could be read.
 */
function functionCall(r: PgReader): GateCommand {
  if (r.remaining < 4) return { kind: 'sql', protocol: 'postgres', path: 'function-call', text: 'function ?' };
  const oid = r.int32() >>> 0;
  const args: string[] = [];
  try {
    const formats = Array.from({ length: r.int16() }, () => r.int16());
    const n = r.int16();
    for (let i = 0; i < n; i++) {
      const len = r.int32();
      const binary = (formats.length === 1 ? formats[0] : formats[i]) === 1;
      args.push(argumentLiteral(len < 0 ? null : r.bytes(len), binary));
    }
  } catch {
    args.push('/* malformed arguments */');
  }
  return { kind: 'sql', protocol: 'postgres', path: 'function-call', text: functionCallText(oid, args), functionOid: oid };
}


