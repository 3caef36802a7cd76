// How many SSH connections may sit unauthenticated waiting for a login to be approved in the
// browser (auth.ts browserRound). Each wait holds a pre-auth slot for up to 5 minutes instead of
// ssh.authTimeout, so without a cap a few addresses could fill ssh.maxPreAuth and lock everyone
// out of SSH: at most `perAddr` waits per client address and `total` on the listener.

export class BrowserWaits {
  private readonly byAddr = new Map<string, number>();
  private count = 0;

  constructor(private readonly perAddr: number, private readonly total: number) {}

  /** A slot for one waiting connection, released by the returned function (idempotent); null when full. */
  take(addr: string): (() => void) | null {
    const here = this.byAddr.get(addr) ?? 0;
    if (here >= this.perAddr || this.count >= this.total) return null;
    this.byAddr.set(addr, here + 1);
    this.count++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.count--;
      const left = (this.byAddr.get(addr) ?? 1) - 1;
      if (left <= 0) this.byAddr.delete(addr);
      else this.byAddr.set(addr, left);
    };
  }
}
