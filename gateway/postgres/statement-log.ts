// Correlates the two PostgreSQL message streams into one record per executed statement. Pure:
// the relay feeds it message heads from each side. Client messages that get a reply are queued in
// order; server replies consume the queue (the protocol answers in order). After an error the
// server skips to Sync, and so does the queue. Prepared statements keep their SQL by name, so each
// Bind/Execute of `-M prepared` is recorded with its text and parameters. A FunctionCall is
// recorded with its OID, its name when it is a well-known built-in (function-names.ts), its
// arguments, the size of its result and its error. Statement text arrives whole (the client framer
// keeps Query and Parse whole up to the statement cap); a statement refused over the cap is
// recorded as refused. Records are the recorder's one statement schema
// (recorder/statement-record.ts); this module only translates.
import { type CopyTransfer, pgRowCounts, type StatementError, type StatementRecord, statementRecord } from '../../recorder/statement-record.js';
import { argumentLiteral, builtinFunctionName, functionCallText } from './function-names.js';
import type { PgMessage } from './wire/frames.js';
import { PgReader } from './wire/frames.js';
import { parseErrorFields } from './wire/server-messages.js';

/** What one emitted record adds to the statement's text, path and start. */
interface Outcome {
  command?: string | undefined;
  statement?: string;
  portal?: string;
  params?: Array<string | null>;
  functionOid?: number;
  resultBytes?: number | null;
  suspended?: boolean;
  error?: StatementError;
}

type Pending =
  | { kind: 'query'; sql: string; start: number }
  | { kind: 'parse'; sql: string; name: string; start: number }
  | { kind: 'bind'; sql: string; statement: string; portal: string; params: Array<string | null>; start: number }
  | { kind: 'describe' | 'close' | 'sync'; start: number }
  | { kind: 'call'; oid: number; params: Array<string | null>; literals: string[]; start: number }
  | { kind: 'execute'; sql: string; statement: string; portal: string; params: Array<string | null>; start: number };

const MAX_QUEUE = 100_000;
const MAX_NAMES = 10_000;

export class StatementLog {
  private queue: Pending[] = [];
  private skipping = false;
  private statements = new Map<string, string>();
  private portals = new Map<string, { sql: string; statement: string; params: Array<string | null> }>();
  private rows = 0;
  private copy: CopyTransfer | null = null;
  private queryStart = 0;

  constructor(readonly now: () => number, private readonly onRecord: (r: StatementRecord) => void) {}

  fromClient(m: PgMessage): void {
    const r = new PgReader(m.head);
    const at = this.now();
    switch (m.type) {
      case 'Q': this.push({ kind: 'query', sql: sqlText(r, m), start: at }); this.queryStart = at; return;
      case 'P': {
        // Named as soon as it is sent: drivers pipeline Parse, Bind, Execute before any reply.
        const name = r.cstring();
        const sql = sqlText(r, m);
        if (this.statements.size < MAX_NAMES || this.statements.has(name)) this.statements.set(name, sql);
        this.push({ kind: 'parse', name, sql, start: at });
        return;
      }
      case 'B': {
        const portal = r.cstring();
        const statement = r.cstring();
        const params = readParams(r, m);
        const sql = this.statements.get(statement) ?? '';
        if (this.portals.size < MAX_NAMES || this.portals.has(portal)) this.portals.set(portal, { sql, statement, params });
        this.push({ kind: 'bind', sql, statement, portal, params, start: at });
        return;
      }
      case 'E': {
        const portal = r.cstring();
        const p = this.portals.get(portal);
        this.push({ kind: 'execute', sql: p?.sql ?? '', statement: p?.statement ?? '', portal, params: p?.params ?? [], start: at });
        return;
      }
      case 'D': this.push({ kind: 'describe', start: at }); return;
      case 'C': {
        const what = String.fromCharCode(r.bytes(1)[0]!);
        const name = r.cstring();
        if (what === 'S') this.statements.delete(name);
        else this.portals.delete(name);
        this.push({ kind: 'close', start: at });
        return;
      }
      case 'S': this.push({ kind: 'sync', start: at }); return;
      case 'F': {
        // A FunctionCall has no SQL text: its arguments are recorded like Bind's parameters.
        const oid = m.head.length >= 4 ? r.int32() >>> 0 : 0;
        const literals = argumentLiterals(m.head.subarray(4));
        this.push({ kind: 'call', oid, params: readParams(r, m), literals, start: at });
        return;
      }
      case 'd': if (this.copy?.direction === 'in') this.copy.bytes += m.length; return;
      default: return;
    }
  }

  /** `at`: when the message arrived (the relay frames server bytes after writing them). */
  fromServer(m: PgMessage, at = this.now()): void {
    const head = this.queue[0];
    switch (m.type) {
      case 'D': this.rows++; return;
      case 'd': if (this.copy?.direction === 'out') this.copy.bytes += m.length; return;
      case 'G': this.copy = { direction: 'in', bytes: 0 }; return;
      case 'H': this.copy = { direction: 'out', bytes: 0 }; return;
      case '1':
        if (head?.kind === 'parse') this.queue.shift();
        return;
      case '2': case '3': case 'n': case 'T':
        if (head && head.kind !== 'query' && head.kind !== 'execute' && head.kind !== 'call') this.queue.shift();
        return;
      case 'V':
        // The call stays queued until its ReadyForQuery, like a simple Query.
        if (head?.kind === 'call') this.emitCall(head, at, { resultBytes: resultSize(m) });
        return;
      case 'C': case 's': case 'I': {
        if (!head) return;
        const tag = m.type === 'C' ? new PgReader(m.head).cstring() : undefined;
        if (head.kind === 'query') {
          if (m.type !== 'I') this.emit(head.sql, 'simple', this.queryStart, at, { command: tag });
          this.queryStart = at;
        } else if (head.kind === 'execute') {
          this.queue.shift();
          this.emit(head.sql, 'extended', head.start, at, {
            command: tag, statement: head.statement, portal: head.portal, params: head.params, ...(m.type === 's' ? { suspended: true } : {}),
          });
        }
        return;
      }
      case 'E': {
        const f = parseErrorFields(m.head);
        const error: StatementError = { sqlstate: f.C ?? '', code: null, message: f.M ?? '' };
        if (head?.kind === 'query') {
          this.emit(head.sql, 'simple', this.queryStart, at, { error });
        } else if (head?.kind === 'call') {
          this.emitCall(head, at, { error });
          return;
        } else if (head?.kind === 'execute' || head?.kind === 'bind') {
          // A Bind can fail too: an unnamed statement is planned with its parameter values there.
          this.emit(head.sql, 'extended', head.start, at, { error, statement: head.statement, portal: head.portal, params: head.params });
        } else if (head?.kind === 'parse') {
          this.emit(head.sql, 'extended', head.start, at, { error, statement: head.name });
        }
        // Until Sync the server ignores the rest; so does the queue.
        if (head && head.kind !== 'query') {
          while (this.queue.length > 0 && this.queue[0]!.kind !== 'sync') this.queue.shift();
        }
        return;
      }
      case 'Z':
        // ReadyForQuery ends a simple query or a Sync; anything queued before it was skipped.
        while (this.queue.length > 0) {
          const p = this.queue.shift()!;
          if (p.kind === 'query' || p.kind === 'sync' || p.kind === 'call') break;
        }
        this.rows = 0;
        this.copy = null;
        return;
      default:
        return;
    }
  }

  private push(p: Pending): void {
    if (this.queue.length >= MAX_QUEUE) this.queue.shift();
    this.queue.push(p);
  }

  /**
   * A Query or Parse the gateway refused because its text is over the statement cap: it never
   * reached the target. Recorded with its size and the refusal (SQLSTATE 54000) the client got.
   */
  refused(type: string, textBytes: number, message: string): void {
    const at = this.now();
    this.onRecord(statementRecord({
      protocol: 'postgres', start: at, end: at, sql: `/* not run: refused by Portcullis, ${textBytes} bytes of statement text */`,
      sqlBytes: textBytes, path: type === 'Q' ? 'simple' : type === 'F' ? 'function-call' : 'extended', error: { sqlstate: '54000', code: null, message },
    }));
  }

  private emit(sql: string, path: StatementRecord['path'], start: number, end: number, o: Outcome): void {
    const counts = pgRowCounts(o.command, this.rows, this.copy?.direction);
    this.onRecord(statementRecord({
      protocol: 'postgres', start, end, sql, path, statement: o.statement, portal: o.portal, params: o.params,
      functionOid: o.functionOid, functionName: o.functionOid === undefined ? undefined : builtinFunctionName(o.functionOid),
      resultBytes: o.resultBytes, command: o.command, rowsReturned: counts.returned, rowsAffected: counts.affected,
      suspended: o.suspended, error: o.error, copy: this.copy,
    }));
    this.rows = 0;
    this.copy = null;
  }

  private emitCall(call: Extract<Pending, { kind: 'call' }>, end: number, o: Outcome): void {
    this.emit(functionCallText(call.oid, call.literals), 'function-call', call.start, end, { ...o, functionOid: call.oid, params: call.params });
  }
}

/** A FunctionCallResponse's result length: null for an SQL NULL (length -1). */
function resultSize(m: PgMessage): number | null {
  if (m.head.length < 4) return 0;
  const n = m.head.readInt32BE(0);
  return n < 0 ? null : n;
}

/** A FunctionCall's arguments whole, as SQL literals (the framer keeps the message whole up to the cap). */
function argumentLiterals(body: Buffer): string[] {
  const r = new PgReader(body);
  try {
    const formats: number[] = [];
    for (let i = 0, n = r.int16(); i < n; i++) formats.push(r.int16());
    const out: string[] = [];
    for (let i = 0, n = r.int16(); i < n; i++) {
      const len = r.int32();
      out.push(argumentLiteral(len < 0 ? null : r.bytes(len), (formats.length === 1 ? formats[0] : formats[i]) === 1));
    }
    return out;
  } catch {
    return ['/* malformed arguments */'];
  }
}

function sqlText(r: PgReader, m: PgMessage): string {
  const s = r.cstring();
  return m.length > m.head.length ? `${s}…[truncated, ${m.length} bytes]` : s;
}

/**
 * Bind parameters whole, as text (binary ones as `\x` hex): a parameter can be SQL that runs
 * (`SELECT query_to_xml($1, ...)`), so none is cut; the framer keeps Bind whole up to the statement
 * cap, and the statement writer moves long ones to a side file.
 */
function readParams(r: PgReader, m: PgMessage): Array<string | null> {
  try {
    const nFormats = r.int16();
    const formats: number[] = [];
    for (let i = 0; i < nFormats; i++) formats.push(r.int16());
    const n = r.int16();
    const out: Array<string | null> = [];
    for (let i = 0; i < n; i++) {
      const len = r.int32();
      if (len < 0) { out.push(null); continue; }
      const v = r.bytes(len);
      const binary = (formats.length === 1 ? formats[0] : formats[i]) === 1;
      out.push(binary ? '\\x' + v.toString('hex') : v.toString('utf8'));
    }
    return out;
  } catch {
    return m.length > m.head.length ? ['…[parameters not recorded: the message was not kept whole]'] : ['…[malformed parameters]'];
  }
}
