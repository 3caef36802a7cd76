// The SSH ceiling: the leanest relay ssh2 allows, run as its own process so its CPU can be read from
// /proc. An ssh2 server that lets in the one client key given, and for each exec or shell opens the
// same on the real sshd through an ssh2 client (one upstream connection per client connection),
// piping the channels both ways. No recording, no digest, no gate: the decrypt and encrypt of each
// leg and the piping are all it does, the work no SSH relay can avoid.
//   node dist/bench/lib/ssh-bare-relay.js LISTEN_PORT HOST_KEY CLIENT_PUB UPSTREAM_PORT UPSTREAM_USER UPSTREAM_KEY
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';

const [listenPort, hostKey, clientPub, upstreamPort, upstreamUser, upstreamKey] = process.argv.slice(2);
if (!listenPort || !hostKey || !clientPub || !upstreamPort || !upstreamUser || !upstreamKey) {
  throw new Error('usage: ssh-bare-relay LISTEN_PORT HOST_KEY CLIENT_PUB UPSTREAM_PORT UPSTREAM_USER UPSTREAM_KEY');
}
const allowed = ssh2.utils.parseKey(readFileSync(clientPub));
if (allowed instanceof Error) throw allowed;
const allowedBlob = allowed.getPublicSSH();
const upKey = readFileSync(upstreamKey);

const server = new ssh2.Server({ hostKeys: [readFileSync(hostKey)] }, (client) => {
  client.on('error', () => client.end());
  client.on('authentication', (ctx) => {
    if (ctx.method !== 'publickey' || ctx.key.algo !== allowed.type || ctx.key.data.length !== allowedBlob.length || !timingSafeEqual(ctx.key.data, allowedBlob)) {
      ctx.reject(['publickey']);
      return;
    }
    if (ctx.signature && ctx.blob && !allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) { ctx.reject(['publickey']); return; }
    ctx.accept();
  });
  client.on('ready', () => {
    const up = new ssh2.Client();
    const ready = new Promise<ssh2.Client>((resolve, reject) => { up.once('ready', () => resolve(up)); up.once('error', reject); });
    up.connect({ host: '127.0.0.1', port: Number(upstreamPort), username: upstreamUser, privateKey: upKey });
    client.on('close', () => up.end());
    up.on('close', () => client.end());
    client.on('session', (accept) => {
      const session = accept();
      let pty: ssh2.PseudoTtyInfo | null = null;
      session.on('pty', (ok, _no, info) => { pty = info; ok?.(); });
      const relay = (ch: ssh2.ServerChannel, open: (c: ssh2.Client, cb: ssh2.ClientCallback) => void): void => {
        ready.then((c) => open(c, (err, upCh) => {
          if (err) { ch.exit(1); ch.close(); return; }
          ch.pipe(upCh);
          upCh.pipe(ch, { end: false });
          upCh.stderr.pipe(ch.stderr, { end: false });
          let code = 1;
          upCh.on('exit', (c: number | null) => { code = c ?? 1; });
          // Everything read from upstream is written before exit, EOF and close (a zero-length write is ssh2's barrier).
          const finish = (): void => { ch.write(Buffer.alloc(0), () => { ch.exit(code); ch.end(); ch.close(); }); };
          upCh.once('close', () => (upCh.readableEnded ? finish() : upCh.once('end', finish)));
          ch.once('close', () => upCh.close());
        }), () => ch.close());
      };
      const ptyOpts = (): ssh2.PseudoTtyOptions | false => pty ? { term: pty.term, rows: pty.rows, cols: pty.cols, width: pty.width, height: pty.height } : false;
      session.on('exec', (ok, _no, info) => {
        const ch = ok();
        const p = ptyOpts();
        relay(ch, (c, cb) => c.exec(info.command, p ? { pty: p } : {}, cb));
      });
      session.on('shell', (ok) => { const ch = ok(); relay(ch, (c, cb) => c.shell(ptyOpts(), cb)); });
    });
  });
});
server.listen(Number(listenPort), '127.0.0.1', () => process.send?.('ready'));
process.on('SIGTERM', () => process.exit(0));
