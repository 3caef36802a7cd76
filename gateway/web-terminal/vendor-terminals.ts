// The running browser terminals, by session id: starting one for an opened link through the
// session pipeline, and finding it again by the resume cookie (same browser only, compared in
// constant time against its hash). Keeps no session state of its own.
import { randomBytes } from 'node:crypto';
import type { LinkOpening } from '../access/links.js';
import { PortcullisError } from '../util/errors.js';
import { constantTimeEqual, sha256Hex } from '../util/ids.js';
import { VendorTerminal, type VendorTerminalDeps } from './vendor-terminal.js';

export class VendorTerminals {
  private readonly byId = new Map<string, VendorTerminal>();

  constructor(private readonly deps: VendorTerminalDeps) {}

  /** Runs the session for an opened link; resolves once the shell runs. The resume secret goes in a cookie. */
  async start(opening: LinkOpening, addr: string, cols: number, rows: number): Promise<{ terminal: VendorTerminal; resume: string }> {
    const secret = randomBytes(32).toString('base64url');
    const t = new VendorTerminal(this.deps, opening, addr, sha256Hex(secret), cols, rows, (id) => this.byId.delete(id));
    const handle = await this.deps.pipeline.start(t);
    if (!handle) throw t.refusal ?? new PortcullisError('unavailable', 'the session could not start');
    t.handle = handle;
    this.byId.set(handle.id, t);
    if (handle.isEnded) this.byId.delete(handle.id);
    return { terminal: t, resume: `${handle.id}.${secret}` };
  }

  /** The running terminal a resume cookie belongs to (same browser only). */
  byResume(cookie: string | null): VendorTerminal | undefined {
    if (!cookie) return undefined;
    const [id, secret] = cookie.split('.');
    const t = id ? this.byId.get(id) : undefined;
    return t && secret && constantTimeEqual(sha256Hex(secret), t.resumeHash) ? t : undefined;
  }

  get size(): number {
    return this.byId.size;
  }
}

