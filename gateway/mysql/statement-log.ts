// Correlates MySQL commands with their replies into one record per executed statement. Pure: fed
// with packet heads from both sides. The command phase is strictly request/response, so one state
// machine per connection follows the server's reply to the current command: OK, ERR, or result
// sets (column count, column definitions, [EOF], rows, EOF/OK; more may follow). Records are the
// recorder's one statement schema (recorder/statement-record.ts): a result set's rows are rows
// returned, an OK packet's count rows affected; this module only translates. Commands arrive whole
// (wire/client-commands.ts joins multi-packet ones; the relay holds statement text whole up to the cap).
import { type StatementError, type StatementRecord, statementRecord } from '../../recorder/statement-record.js';
import { CAP, STATUS_MORE_RESULTS, has } from './wire/capabilities.js';
import { type MyPacket, MyReader, parseErr } from './wire/packets.js';

/** What one emitted record adds to the current command. */
interface Outcome { rowsReturned?: number; rowsAffected?: number; error?: StatementError }

export const COM = { QUIT: 0x01, INIT_DB: 0x02, QUERY: 0x03, FIELD_LIST: 0x04, PING: 0x0e, CHANGE_USER: 0x11, STMT_PREPARE: 0x16, STMT_EXECUTE: 0x17, STMT_SEND_LONG_DATA: 0x18, STMT_CLOSE: 0x19, STMT_RESET: 0x1a } as const;

type Phase =
  | { kind: 'idle' }
  | { kind: 'simple' }                        // OK or ERR, nothing to record
  | { kind: 'fieldlist' }                     // column definitions until EOF
  | { kind: 'result'; step: 'first' | 'columns' | 'columns-eof' | 'rows'; columns: number; rows: number; binary: boolean }
  | { kind: 'prepare'; sql: string; skip: number; got: boolean };

interface Current { sql: string; path: StatementRecord['path']; start: number; statementId?: number; params?: Array<string | null> }
interface Prepared { sql: string; params: number; types: number[] }

const MAX_STATEMENTS = 10_000;
/** MariaDB's COM_STMT_BULK_EXECUTE and its flag saying parameter types come first. */
const STMT_BULK_EXECUTE = 0xfa;
const BULK_SEND_TYPES = 128;

export class MyStatementLog {
  private phase: Phase = { kind: 'idle' };
  private current: Current | null = null;
  private readonly prepared = new Map<number, Prepared>();
  /**
   * COM_STMT_SEND_LONG_DATA chunks per statement and parameter, until the statement runs (their
   * values are then not in COM_STMT_EXECUTE) or is reset or closed. The relay holds the sum to the
   * statement cap (longDataBytes), so this stays bounded.
   */
  private readonly longData = new Map<number, Map<number, Buffer[]>>();
  private longBytes = 0;
  /** A prepared statement was not held (over MAX_STATEMENTS): an id not held may be one of those. */
  private overflowed = false;
  private lastPrepared = -1;

  /** CLIENT_DEPRECATE_EOF: read once, the client's capabilities cannot change after its login (COM_CHANGE_USER is refused). */
  private readonly deprecateEof: boolean;

  constructor(caps: () => number, private readonly now: () => number, private readonly onRecord: (r: StatementRecord) => void) {
    this.deprecateEof = has(caps(), CAP.DEPRECATE_EOF);
  }

  /**
   * The text a COM_STMT_EXECUTE of `id` runs, for the gate (MariaDB's id 0xffffffff is the last one
   * prepared); '' for an id the target never gave; null when it may be one the log did not hold.
   */
  preparedSql(id: number): string | null {
    const s = this.prepared.get(id === 0xffffffff ? this.lastPrepared : id);
    if (s) return s.sql;
    return this.overflowed ? null : '';
  }

  /** A command packet from the client (sequence id 0). */
  command(p: MyPacket): void {
    if (p.seq !== 0 || p.head.length === 0) return;
    const cmd = p.head[0]!;
    const at = this.now();
    const text = (): string => p.head.toString('utf8', 1) + (p.length > p.head.length ? `…[truncated, ${p.length} bytes]` : '');
    switch (cmd) {
      case COM.QUERY:
        this.current = { sql: text(), path: 'simple', start: at };
        this.phase = { kind: 'result', step: 'first', columns: 0, rows: 0, binary: false };
        return;
      case COM.STMT_PREPARE:
        this.current = null;
        this.phase = { kind: 'prepare', sql: text(), skip: 0, got: false };
        return;
      case COM.STMT_EXECUTE: {
        const r = new MyReader(p.head);
        r.u8();
        const id = r.u32();
        const stmt = this.prepared.get(id);
        const long = this.takeLongData(id);
        this.current = { sql: stmt?.sql ?? '', path: 'prepared', start: at, statementId: id, params: stmt ? readParams(r, stmt, long) : [] };
        this.phase = { kind: 'result', step: 'first', columns: 0, rows: 0, binary: true };
        return;
      }
      case STMT_BULK_EXECUTE: {
        const r = new MyReader(p.head);
        r.u8();
        const id = r.u32();
        const stmt = this.prepared.get(id);
        this.current = { sql: stmt?.sql ?? '', path: 'prepared', start: at, statementId: id, params: stmt ? readBulkRows(r, stmt) : [] };
        this.phase = { kind: 'result', step: 'first', columns: 0, rows: 0, binary: true };
        return;
      }
      case COM.STMT_CLOSE: case COM.STMT_RESET: {
        const r = new MyReader(p.head);
        r.u8();
        const id = p.head.length >= 5 ? r.u32() : -1;
        if (cmd === COM.STMT_CLOSE) this.prepared.delete(id);
        this.takeLongData(id);
        // COM_STMT_RESET is answered with OK or ERR; COM_STMT_CLOSE not at all.
        this.current = null;
        this.phase = cmd === COM.STMT_RESET ? { kind: 'simple' } : { kind: 'idle' };
        return;
      }
      case COM.STMT_SEND_LONG_DATA: {
        // No answer; the data is part of the statement's next execution.
        if (p.head.length < 7) return;
        const id = p.head.readUInt32LE(1);
        const param = p.head.readUInt16LE(5);
        const chunk = Buffer.from(p.head.subarray(7));
        let byParam = this.longData.get(id);
        if (!byParam) this.longData.set(id, byParam = new Map<number, Buffer[]>());
        const parts = byParam.get(param);
        if (parts) parts.push(chunk); else byParam.set(param, [chunk]);
        this.longBytes += chunk.length;
        return;
      }
      case COM.INIT_DB:
        this.current = { sql: `USE \`${p.head.toString('utf8', 1)}\``, path: 'init-db', start: at };
        this.phase = { kind: 'simple' };
        return;
      case COM.FIELD_LIST:
        this.current = null;
        this.phase = { kind: 'fieldlist' };
        return;
      default:
        this.current = null;
        this.phase = { kind: 'simple' };
    }
  }

  /** A reply packet from the server. */
  reply(p: MyPacket): void {
    this.replyAt(p.length, p.head, 0, p.head.length);
  }

  /**
   * A reply packet of `length` payload bytes, its head as `buf[start, end)` (MyReplyHeads: at least
   * REPLY_HEAD bytes, an ERR packet's up to its whole); `buf` is not kept. A row or a column
   * definition costs its first byte and length: only the packets that end or describe a result
   * are read.
   */
  replyAt(length: number, buf: Buffer, start: number, end: number): void {
    const ph = this.phase;
    if (ph.kind === 'idle') return;
    const first = end > start ? buf[start] : undefined;
    const deprecateEof = this.deprecateEof;
    switch (ph.kind) {
      case 'simple':
        if (first === 0x00 && this.current) this.emit({ rowsAffected: okAffected(buf.subarray(start, end)) });
        else if (first === 0xff && this.current) this.emit({ error: parseErr(buf.subarray(start, end)) });
        this.done();
        return;
      case 'fieldlist':
        if (first === 0xff || (first === 0xfe && length < 9)) this.done();
        return;
      case 'prepare':
        if (!ph.got) {
          if (first === 0xff) { this.current = { sql: ph.sql, path: 'prepared', start: this.now() }; this.emit({ error: parseErr(buf.subarray(start, end)) }); this.done(); return; }
          const r = new MyReader(buf.subarray(start, end));
          r.u8();
          const id = r.u32();
          const columns = r.u16();
          const params = r.u16();
          if (this.prepared.size < MAX_STATEMENTS) this.prepared.set(id, { sql: ph.sql, params, types: [] });
          else this.overflowed = true;
          this.lastPrepared = id;
          ph.got = true;
          ph.skip = params + columns + (deprecateEof ? 0 : (params > 0 ? 1 : 0) + (columns > 0 ? 1 : 0));
          if (ph.skip === 0) this.done();
          return;
        }
        if (--ph.skip <= 0) this.done();
        return;
      case 'result':
        switch (ph.step) {
          case 'first':
            if (first === 0x00) {
              const { affected, status } = okInfo(buf.subarray(start, end));
              this.emit({ rowsAffected: affected });
              if (status & STATUS_MORE_RESULTS) return;
              this.done();
            } else if (first === 0xff) {
              this.emit({ error: parseErr(buf.subarray(start, end)) });
              this.done();
            } else if (first === 0xfb) {
              // LOCAL INFILE request: the client answers with file data, then the server with OK/ERR.
              return;
            } else {
              ph.columns = new MyReader(buf.subarray(start, end)).lenenc() ?? 0;
              ph.rows = 0;
              ph.step = ph.columns > 0 ? 'columns' : 'rows';
            }
            return;
          case 'columns':
            if (--ph.columns === 0) ph.step = deprecateEof ? 'rows' : 'columns-eof';
            return;
          case 'columns-eof':
            ph.step = 'rows';
            return;
          case 'rows': {
            if (first === 0xff) { this.emit({ error: parseErr(buf.subarray(start, end)), rowsReturned: ph.rows }); this.done(); return; }
            const terminator = first === 0xfe && (deprecateEof ? length < 0xffffff : length < 9);
            if (!terminator) { ph.rows++; return; }
            const status = deprecateEof ? okInfo(buf.subarray(start, end)).status : eofStatus(buf.subarray(start, end));
            this.emit({ rowsReturned: ph.rows });
            if (status & STATUS_MORE_RESULTS) { ph.step = 'first'; return; }
            this.done();
            return;
          }
        }
    }
  }

  /** Bytes of long data waiting for their statements to run (the relay holds this to the cap). */
  get longDataBytes(): number {
    return this.longBytes;
  }

  /** A statement (or a prepared statement's parameters) refused over the statement cap: it never reached the target. */
  refused(textBytes: number, message: string, path: 'simple' | 'prepared' = 'simple'): void {
    const at = this.now();
    const what = path === 'prepared' ? 'parameters' : 'statement text';
    this.onRecord(statementRecord({
      protocol: 'mysql', start: at, end: at, sql: `/* not run: refused by Portcullis, ${textBytes} bytes of ${what} */`,
      sqlBytes: textBytes, path, error: { sqlstate: '08S01', code: 1153, message },
    }));
  }

  /** A statement's long data, joined per parameter, and forgotten (it runs, or was reset or closed). */
  private takeLongData(id: number): Map<number, Buffer> {
    const out = new Map<number, Buffer>();
    const byParam = this.longData.get(id);
    if (!byParam) return out;
    for (const [param, parts] of byParam) {
      const joined = Buffer.concat(parts);
      this.longBytes -= joined.length;
      out.set(param, joined);
    }
    this.longData.delete(id);
    return out;
  }

  private emit(o: Outcome): void {
    const c = this.current;
    if (!c) return;
    this.onRecord(statementRecord({
      protocol: 'mysql', start: c.start, end: this.now(), sql: c.sql, path: c.path,
      statement: c.statementId === undefined ? undefined : String(c.statementId), params: c.params,
      rowsReturned: o.rowsReturned, rowsAffected: o.rowsAffected, error: o.error,
    }));
    // Further result sets of the same statement get their own record, timed from now.
    c.start = this.now();
  }

  private done(): void {
    this.phase = { kind: 'idle' };
    this.current = null;
  }
}

function okInfo(head: Buffer): { affected: number; status: number } {
  try {
    const r = new MyReader(head);
    r.u8();
    const affected = r.lenenc() ?? 0;
    r.lenenc();
    return { affected, status: r.remaining >= 2 ? r.u16() : 0 };
  } catch {
    return { affected: 0, status: 0 };
  }
}

const okAffected = (head: Buffer): number => okInfo(head).affected;

function eofStatus(head: Buffer): number {
  return head.length >= 5 ? head.readUInt16LE(3) : 0;
}

/**
 * Binary-protocol parameters of COM_STMT_EXECUTE, as text for the record, whole: a parameter can
 * be SQL that runs. Parameters sent before as long data are not in the packet; their joined chunks
 * stand in for them.
 */
function readParams(r: MyReader, stmt: Prepared, long: ReadonlyMap<number, Buffer>): Array<string | null> {
  const n = stmt.params;
  if (n === 0) return [];
  try {
    r.u8();
    r.u32();
    const nullBitmap = Buffer.from(r.bytes(Math.floor((n + 7) / 8)));
    if (r.u8() === 1) {
      stmt.types = [];
      for (let i = 0; i < n; i++) stmt.types.push(r.u16());
    }
    const out: Array<string | null> = [];
    for (let i = 0; i < n; i++) {
      const sent = long.get(i);
      if (sent) { out.push(sent.toString('utf8')); continue; }
      if (nullBitmap[i >> 3]! & (1 << (i & 7))) { out.push(null); continue; }
      out.push(binaryValue(r, (stmt.types[i] ?? 0xfd) & 0xff, ((stmt.types[i] ?? 0) & 0x8000) !== 0));
    }
    return out;
  } catch {
    return ['…[malformed parameters]'];
  }
}

/**
 * COM_STMT_BULK_EXECUTE's rows of parameters (MariaDB): after the id and flags, the types when
 * flagged, then per row per parameter an indicator (0 value follows, 1 NULL, 2 DEFAULT, 3 IGNORE)
 * and the value, to the end of the payload. Each row is one entry, its values as a JSON array.
 */
function readBulkRows(r: MyReader, stmt: Prepared): Array<string | null> {
  const n = stmt.params;
  try {
    const flags = r.u16();
    if (flags & BULK_SEND_TYPES) {
      stmt.types = [];
      for (let i = 0; i < n; i++) stmt.types.push(r.u16());
    }
    const rows: Array<string | null> = [];
    while (r.remaining > 0 && n > 0) {
      const row: Array<string | null> = [];
      for (let i = 0; i < n; i++) {
        const indicator = r.u8();
        if (indicator === 0) row.push(binaryValue(r, (stmt.types[i] ?? 0xfd) & 0xff, ((stmt.types[i] ?? 0) & 0x8000) !== 0));
        else row.push(indicator === 1 ? null : indicator === 2 ? 'DEFAULT' : 'IGNORE');
      }
      rows.push(JSON.stringify(row));
    }
    return rows;
  } catch {
    return ['…[malformed bulk parameters]'];
  }
}

function binaryValue(r: MyReader, type: number, unsigned: boolean): string {
  switch (type) {
    case 0x01: { const v = r.u8(); return String(unsigned ? v : (v << 24) >> 24); }
    case 0x02: case 0x0d: { const v = r.u16(); return String(unsigned ? v : (v << 16) >> 16); }
    case 0x03: case 0x09: { const v = r.u32(); return String(unsigned ? v : v | 0); }
    case 0x08: { const b = r.bytes(8); return unsigned ? b.readBigUInt64LE().toString() : b.readBigInt64LE().toString(); }
    case 0x04: return String(r.bytes(4).readFloatLE());
    case 0x05: return String(r.bytes(8).readDoubleLE());
    case 0x06: return 'NULL';
    case 0x07: case 0x0a: case 0x0c: case 0x0b: {
      const len = r.u8();
      const b = r.bytes(len);
      if (type === 0x0b) return `time(${b.toString('hex')})`;
      if (len === 0) return '0000-00-00';
      const date = `${b.readUInt16LE(0)}-${String(b[2]).padStart(2, '0')}-${String(b[3]).padStart(2, '0')}`;
      return len >= 7 ? `${date} ${String(b[4]).padStart(2, '0')}:${String(b[5]).padStart(2, '0')}:${String(b[6]).padStart(2, '0')}` : date;
    }
    default:
      return (r.lenencBytes() ?? Buffer.alloc(0)).toString('utf8');
  }
}
