// Turns an SFTP conversation into file-operation events: which paths were read or written and how
// many bytes, and which were removed, renamed, created or changed, each with its outcome. Requests
// are matched to replies by request id. Pure: fed with the two byte streams, calls `onEvent`.
import { FieldReader, SftpFrameReader, type SftpPacket } from './sftp-frames.js';

export type SftpOp = 'read' | 'write' | 'remove' | 'rename' | 'mkdir' | 'rmdir' | 'setstat' | 'symlink' | 'opendir';

export interface SftpEvent {
  op: SftpOp;
  path: string;
  to?: string;
  bytes?: number;
  ok: boolean;
  error?: string;
}

const T = {
  INIT: 1, VERSION: 2, OPEN: 3, CLOSE: 4, READ: 5, WRITE: 6, SETSTAT: 9, OPENDIR: 11, REMOVE: 13, MKDIR: 14, RMDIR: 15,
  RENAME: 18, SYMLINK: 20, STATUS: 101, HANDLE: 102, DATA: 103, EXTENDED: 200,
} as const;
const FXF_WRITE = 0x02;
const FXF_APPEND = 0x04;
const FX_OK = 0;
const MAX_PENDING = 10_000;
const MAX_HANDLES = 10_000;

interface OpenFile { path: string; write: boolean; bytes: number; dir: boolean }
type Pending =
  | { kind: 'open'; path: string; write: boolean; dir: boolean }
  | { kind: 'read'; handle: string }
  | { kind: 'simple'; op: SftpOp; path: string; to?: string }
  | { kind: 'close'; handle: string };

export class SftpTracker {
  private readonly pending = new Map<number, Pending>();
  private readonly handles = new Map<string, OpenFile>();
  readonly client: SftpFrameReader;
  readonly server: SftpFrameReader;

  constructor(private readonly onEvent: (e: SftpEvent) => void) {
    this.client = new SftpFrameReader((p) => this.fromClient(p));
    this.server = new SftpFrameReader((p) => this.fromServer(p));
  }

  /** Files still open when the channel ends are reported with what was seen. */
  end(): void {
    for (const f of this.handles.values()) {
      if (!f.dir) this.onEvent({ op: f.write ? 'write' : 'read', path: f.path, bytes: f.bytes, ok: false, error: 'not closed' });
    }
    this.handles.clear();
    this.pending.clear();
  }

  private expect(id: number, p: Pending): void {
    if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
    this.pending.set(id, p);
  }

  private fromClient(p: SftpPacket): void {
    if (p.type === T.INIT) return;
    const r = new FieldReader(p.head);
    const id = r.u32();
    switch (p.type) {
      case T.OPEN: {
        const path = r.text();
        const flags = r.u32();
        this.expect(id, { kind: 'open', path, write: (flags & (FXF_WRITE | FXF_APPEND)) !== 0, dir: false });
        return;
      }
      case T.OPENDIR:
        this.expect(id, { kind: 'open', path: r.text(), write: false, dir: true });
        return;
      case T.READ:
        this.expect(id, { kind: 'read', handle: r.string().toString('hex') });
        return;
      case T.WRITE: {
        const f = this.handles.get(r.string().toString('hex'));
        r.u64();
        if (f) f.bytes += r.stringLength();
        return;
      }
      case T.CLOSE:
        this.expect(id, { kind: 'close', handle: r.string().toString('hex') });
        return;
      case T.REMOVE: return this.expect(id, { kind: 'simple', op: 'remove', path: r.text() });
      case T.MKDIR: return this.expect(id, { kind: 'simple', op: 'mkdir', path: r.text() });
      case T.RMDIR: return this.expect(id, { kind: 'simple', op: 'rmdir', path: r.text() });
      case T.SETSTAT: return this.expect(id, { kind: 'simple', op: 'setstat', path: r.text() });
      case T.RENAME: {
        const path = r.text();
        return this.expect(id, { kind: 'simple', op: 'rename', path, to: r.text() });
      }
      case T.SYMLINK: {
        // OpenSSH sends (targetpath, linkpath), reversed from the draft; record both as given.
        const path = r.text();
        return this.expect(id, { kind: 'simple', op: 'symlink', path, to: r.text() });
      }
      case T.EXTENDED: {
        const name = r.text();
        if (name === 'posix-rename@openssh.com') {
          const path = r.text();
          this.expect(id, { kind: 'simple', op: 'rename', path, to: r.text() });
        }
        return;
      }
      default:
        return;
    }
  }

  private fromServer(p: SftpPacket): void {
    if (p.type === T.VERSION) return;
    const r = new FieldReader(p.head);
    const id = r.u32();
    const req = this.pending.get(id);
    if (!req) return;
    this.pending.delete(id);
    switch (p.type) {
      case T.HANDLE:
        if (req.kind === 'open' && this.handles.size < MAX_HANDLES) {
          this.handles.set(r.string().toString('hex'), { path: req.path, write: req.write, bytes: 0, dir: req.dir });
        }
        return;
      case T.DATA:
        if (req.kind === 'read') {
          const f = this.handles.get(req.handle);
          if (f) f.bytes += r.stringLength();
        }
        return;
      case T.STATUS: {
        const code = r.u32();
        const ok = code === FX_OK;
        const error = ok ? undefined : statusName(code);
        if (req.kind === 'simple') this.onEvent({ op: req.op, path: req.path, ...(req.to ? { to: req.to } : {}), ok, ...(error ? { error } : {}) });
        else if (req.kind === 'open') {
          this.onEvent({ op: req.dir ? 'opendir' : req.write ? 'write' : 'read', path: req.path, bytes: 0, ok: false, error });
        } else if (req.kind === 'close') {
          const f = this.handles.get(req.handle);
          this.handles.delete(req.handle);
          if (f && !f.dir) this.onEvent({ op: f.write ? 'write' : 'read', path: f.path, bytes: f.bytes, ok: true });
        }
        return;
      }
      default:
        return;
    }
  }
}

function statusName(code: number): string {
  return ['ok', 'eof', 'no-such-file', 'permission-denied', 'failure', 'bad-message', 'no-connection', 'connection-lost', 'op-unsupported'][code] ?? `status-${code}`;
}
