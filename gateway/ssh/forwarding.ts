// direct-tcpip (ssh -L, -D): each forward request is authorized again (access as it is now,
// including a policy that switched forwarding off since) and passes the session's gate (which
// applies the policy's port-forwarding switch); a refused one is rejected. Every forward, allowed or not, is
// reported to the pipeline with host, port and byte counts (it audits and records). Translation
// only.
import type ssh2 from 'ssh2';
import type { SessionContext } from '../session/adapter.js';

export function handleDirectTcpip(
  ctx: SessionContext, upstream: ssh2.Client,
  accept: () => ssh2.ServerChannel, reject: () => void, info: ssh2.TcpipRequestInfo,
): void {
  const report = (allowed: boolean, bytesIn: number, bytesOut: number): void => {
    ctx.forwarded({ host: info.destIP, port: info.destPort, allowed, bytesIn, bytesOut });
  };
  // Authorized again first (a forward on a connection that outlived its access opens nothing),
  // then the gate. Guarded: the rest runs detached.
  void ctx.reauthorize('forward').then(ctx.guard((refusal: string | null) => {
    if (refusal !== null) {
      ctx.log.info({ host: info.destIP, port: info.destPort, refusal }, 'ssh.forward_refused');
      report(false, 0, 0);
      reject();
      return;
    }
    open(ctx, upstream, accept, reject, info, report);
  }));
}

function open(
  ctx: SessionContext, upstream: ssh2.Client, accept: () => ssh2.ServerChannel, reject: () => void, info: ssh2.TcpipRequestInfo,
  report: (allowed: boolean, bytesIn: number, bytesOut: number) => void,
): void {
  if (ctx.check({ kind: 'forward', host: info.destIP, port: info.destPort }).verdict === 'deny') {
    report(false, 0, 0);
    reject();
    return;
  }
  upstream.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, (err, upCh) => {
    if (err) { report(true, 0, 0); reject(); return; }
    const ch = accept();
    let bytesIn = 0;
    let bytesOut = 0;
    ch.on('data', (d: Buffer) => { bytesIn += d.length; ctx.activity(); });
    upCh.on('data', (d: Buffer) => { bytesOut += d.length; ctx.activity(); });
    ch.pipe(upCh);
    upCh.pipe(ch);
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      ch.close();
      upCh.close();
      report(true, bytesIn, bytesOut);
    };
    ch.once('close', close);
    upCh.once('close', close);
  });
}
