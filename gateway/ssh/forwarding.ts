// direct-tcpip (ssh -L): allowed only where the session's policy allows port forwarding. Each
// forward is audited (allowed or not) with host, port and byte counts, and logged in the recording.
import type ssh2 from 'ssh2';
import type { AuditLog } from '../audit/audit-log.js';
import type { SessionRecording } from '../../recorder/session-recording.js';
import type { BrokeredSession } from '../session/broker.js';

export function handleDirectTcpip(
  session: BrokeredSession, audit: AuditLog, recording: SessionRecording | null, upstream: Promise<ssh2.Client>,
  accept: () => ssh2.ServerChannel, reject: () => void, info: ssh2.TcpipRequestInfo,
): void {
  const record = (allowed: boolean, bytesIn: number, bytesOut: number): void => {
    audit.record('session.forward', session.auth.user.name, { session: session.id, host: info.destIP, port: info.destPort, allowed, bytesIn, bytesOut });
    recording?.event('forward', { host: info.destIP, port: info.destPort, allowed, bytes_in: bytesIn, bytes_out: bytesOut });
  };
  if (!session.allowPortForwarding) {
    record(false, 0, 0);
    reject();
    return;
  }
  upstream.then((client) => {
    client.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, (err, upCh) => {
      if (err) { record(true, 0, 0); reject(); return; }
      const ch = accept();
      let bytesIn = 0;
      let bytesOut = 0;
      ch.on('data', (d: Buffer) => { bytesIn += d.length; });
      upCh.on('data', (d: Buffer) => { bytesOut += d.length; });
      ch.pipe(upCh);
      upCh.pipe(ch);
      let closed = false;
      const close = (): void => {
        if (closed) return;
        closed = true;
        ch.close();
        upCh.close();
        record(true, bytesIn, bytesOut);
      };
      ch.once('close', close);
      upCh.once('close', close);
    });
  }, () => reject());
}
