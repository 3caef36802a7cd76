// The life of one mounted page. Everything a page starts that can act later — timers, animation
// frames, WebSockets, DOM listeners, xterm terminals, fetches — goes through its PageLifecycle, and
// leaving the page (the router disposes it) stops all of it at once. Async continuations are
// guarded: a promise passed through `guard` never settles once the page is left, so a late fetch
// cannot render into a page nobody sees or navigate the browser back (the player's old bug).
// It does not route or render; main.ts decides when a page starts and ends.

/** Anything with a dispose(), such as an xterm Terminal. */
export interface Disposable { dispose(): void }

export class PageLifecycle {
  private readonly controller = new AbortController();
  private readonly timeouts = new Set<number>();
  private readonly intervals = new Set<number>();
  private readonly frames = new Set<number>();
  private readonly sockets = new Set<WebSocket>();
  private readonly cleanups: Array<() => void> = [];

  /** Aborted when the page is left: for DOM listeners and fetches. */
  get signal(): AbortSignal { return this.controller.signal; }
  get alive(): boolean { return !this.controller.signal.aborted; }

  /** A one-shot timer that is cleared when the page is left, and never runs after. */
  setTimeout(fn: () => void, ms: number): number {
    if (!this.alive) return 0;
    const id = window.setTimeout(() => { this.timeouts.delete(id); if (this.alive) fn(); }, ms);
    this.timeouts.add(id);
    return id;
  }

  clearTimeout(id: number | null): void {
    if (id === null) return;
    window.clearTimeout(id);
    this.timeouts.delete(id);
  }

  setInterval(fn: () => void, ms: number): number {
    if (!this.alive) return 0;
    const id = window.setInterval(() => { if (this.alive) fn(); }, ms);
    this.intervals.add(id);
    return id;
  }

  requestAnimationFrame(fn: (t: number) => void): number {
    if (!this.alive) return 0;
    const id = window.requestAnimationFrame((t) => { this.frames.delete(id); if (this.alive) fn(t); });
    this.frames.add(id);
    return id;
  }

  /** A DOM listener removed when the page is left (through the lifecycle's AbortSignal). */
  listen<K extends keyof HTMLElementEventMap>(target: HTMLElement, type: K, fn: (ev: HTMLElementEventMap[K]) => void): void;
  listen<K extends keyof DocumentEventMap>(target: Document, type: K, fn: (ev: DocumentEventMap[K]) => void): void;
  listen<K extends keyof WindowEventMap>(target: Window, type: K, fn: (ev: WindowEventMap[K]) => void): void;
  listen(target: EventTarget, type: string, fn: (ev: Event) => void): void {
    if (!this.alive) return;
    target.addEventListener(type, (ev) => { if (this.alive) fn(ev); }, { signal: this.signal });
  }

  /** A WebSocket closed (1000, "page left") when the page is left; its handlers stop at once. */
  socket(url: string): WebSocket {
    const ws = new WebSocket(url);
    if (!this.alive) { ws.close(1000, 'page left'); return ws; }
    this.sockets.add(ws);
    ws.addEventListener('close', () => this.sockets.delete(ws));
    return ws;
  }

  /** Disposed with the page (xterm terminals, addons). Returns its argument. */
  own<T extends Disposable>(thing: T): T {
    if (!this.alive) { thing.dispose(); return thing; }
    this.cleanups.push(() => thing.dispose());
    return thing;
  }

  /** Runs when the page is left. */
  onLeave(fn: () => void): void {
    if (!this.alive) { fn(); return; }
    this.cleanups.push(fn);
  }

  /**
   * The promise's outcome while the page lives; once it is left, a promise that never settles, so
   * neither `await` continuations nor `.then` handlers run (a fetch aborted by leaving included).
   */
  guard<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      p.then((v) => { if (this.alive) resolve(v); }, (e: unknown) => { if (this.alive) reject(e instanceof Error ? e : new Error(String(e))); });
    });
  }

  /** Leaves the page: idempotent. Errors of one cleanup do not stop the others. */
  dispose(): void {
    if (!this.alive) return;
    this.controller.abort();
    for (const id of this.timeouts) window.clearTimeout(id);
    for (const id of this.intervals) window.clearInterval(id);
    for (const id of this.frames) window.cancelAnimationFrame(id);
    this.timeouts.clear();
    this.intervals.clear();
    this.frames.clear();
    for (const ws of this.sockets) {
      // Handlers off first: a close event arriving later must not write into the next page.
      ws.onopen = null; ws.onmessage = null; ws.onclose = null; ws.onerror = null;
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close(1000, 'page left');
    }
    this.sockets.clear();
    for (const fn of this.cleanups.splice(0)) {
      try { fn(); } catch (e) { console.error('page cleanup failed', e); }
    }
  }
}
