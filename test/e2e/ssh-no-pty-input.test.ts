// Shells and commands without a terminal through Portcullis to a real sshd, driven by real OpenSSH:
// `ssh -T` with commands typed at a real terminal (tmux), `ssh host bash < script.sh`,
// `ssh host sh -s`, an exec reading stdin. Every byte the client sent is in the recording as "i"
// events, stdout as "o" and stderr as "e"; `portcullis play` and the player's windows replay it.
// The per-session input cap: the session is cut with its own reason, and the target got exactly
// what the recording holds. Transfers (sftp, legacy scp, rsync) are not input and pass the cap;
// an exec that only looks like one (`scp -t x; cat > y`, a shell planted as /tmp/.../scp, rsync -s) does not.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, newContext, screenshotPath, signIn } from '../harness/browser.js';
import { requireBinary, run, waitFor } from '../harness/common.js';
import { json } from '../harness/gateway.js';
import { type SshFixture, Tmux, startSshFixture } from '../harness/ssh-fixture.js';
import { type CastEvent, readCast } from '../../recorder/asciicast-reader.js';
import { inputBytes } from '../../recorder/input-decoder.js';
import { RecordingLayout } from '../../recorder/layout.js';
import { readRecordingMeta } from '../../recorder/meta.js';

const INPUT_CAP = 256 * 1024;
const OUTPUT_CAP = 64 * 1024;
let fx: SshFixture;
let typedSession = '';

beforeAll(async () => {
  fx = await startSshFixture({ PORTCULLIS_SSH_PIPE_INPUT_CAP: String(INPUT_CAP), PORTCULLIS_SSH_PIPE_OUTPUT_CAP: String(OUTPUT_CAP) });
  fx.grant('ops', 'web01', '30m');
  fx.gw.admin(['user', 'add', 'ivy', '--role', 'investigator', '--password-stdin'], 'ivy-Password-1\n');
}, 120_000);

afterAll(async () => { await fx?.stop(); });

interface Listed { id: string; end_reason: string | null }
const sessions = (): Listed[] => json<Listed[]>(fx.gw.admin(['session', 'list', '--json']));

/** Runs `act` and waits for the one session it opened to end and its recording to be sealed. */
async function session(act: () => Promise<void> | void): Promise<{ id: string; reason: string; layout: RecordingLayout }> {
  const before = new Set(sessions().map((s) => s.id));
  await act();
  let found: Listed | undefined;
  await waitFor('the session to end and its recording to close', () => {
    found = sessions().find((s) => !before.has(s.id) && s.end_reason);
    if (!found) return false;
    try {
      return Boolean(readRecordingMeta(RecordingLayout.inDataDir(fx.gw.dataDir, found.id).meta)?.end_reason);
    } catch {
      return false;
    }
  }, 20_000);
  return { id: found!.id, reason: found!.end_reason!, layout: RecordingLayout.inDataDir(fx.gw.dataDir, found!.id) };
}

/** The one cast of a session, with its streams joined. */
async function streams(layout: RecordingLayout): Promise<{ header: Record<string, unknown>; events: CastEvent[]; i: string; o: string; e: string; m: string[] }> {
  const channels = layout.castChannels();
  expect(channels).toHaveLength(1);
  const cast = await readCast(layout.cast(channels[0]!));
  const join = (code: string): string => cast.events.filter((e) => e[1] === code).map((e) => e[2]).join('');
  return { header: cast.header, events: cast.events, i: join('i'), o: join('o'), e: join('e'), m: cast.events.filter((e) => e[1] === 'm').map((e) => e[2]) };
}

const execEvents = (layout: RecordingLayout): Array<Record<string, unknown>> =>
  readFileSync(layout.events, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e['kind'] === 'exec');

describe('input without a terminal is recorded whole', () => {
  it('records every command typed at `ssh -T` and its output, stdout and stderr apart', async () => {
    const s = await session(async () => {
      const t = Tmux.start(`ssh -T ${fx.sshOpts(['-i', fx.opsKey, '-o', 'BatchMode=yes']).join(' ')} ops+web01@127.0.0.1`);
      try {
        // No prompt without a terminal: wait for each command's output before typing the next.
        t.send('echo "typed-one $((6*7))"');
        await t.waitFor(/^typed-one 42$/m);
        t.send('ls /nonexistent-typed-two');
        await t.waitFor(/nonexistent-typed-two/);
        t.send('touch /tmp/pc-nopty-typed-$$ && rm /tmp/pc-nopty-typed-$$ && echo typed-three-done');
        await t.waitFor(/^typed-three-done$/m);
        t.send('exit');
        // The gateway's view, not tmux's (its exit status is slow to show under load).
        await waitFor('the session to end', () => json<unknown[]>(fx.gw.admin(['session', 'list', '--live', '--json'])).length === 0, 20_000);
      } finally {
        t.kill();
      }
    });
    expect(s.reason).toBe('closed-by-client');
    typedSession = s.id;
    const r = await streams(s.layout);
    expect(r.header).toMatchObject({ version: 2, width: 120, height: 40, portcullis: { session: s.id, pty: false } });
    expect(r.i).toBe('echo "typed-one $((6*7))"\nls /nonexistent-typed-two\ntouch /tmp/pc-nopty-typed-$$ && rm /tmp/pc-nopty-typed-$$ && echo typed-three-done\nexit\n');
    expect(r.o).toBe('typed-one 42\ntyped-three-done\n');
    expect(r.e).toMatch(/^ls: cannot access '\/nonexistent-typed-two': No such file or directory\n$/);
    // `exit` ended the shell before the client closed its input: no end-of-input marker, the status.
    // (Risk flags are markers too: not part of this channel's own story.)
    expect(r.m.filter((m) => !m.startsWith('flagged'))).toEqual(['exit 0']);
    // Events keep their order in time: the second command's error comes after it was sent.
    const at = (code: string, text: string): number => r.events.findIndex((e) => e[1] === code && e[2].includes(text));
    expect(at('i', 'typed-two')).toBeLessThan(at('e', 'typed-two'));
    expect(at('e', 'typed-two')).toBeLessThan(at('i', 'typed-three'));
    // The summary with digests is still written.
    expect(execEvents(s.layout)[0]).toMatchObject({ what: 'shell', exit: { code: 0 }, stdin: { bytes: Buffer.byteLength(r.i) } });
  });

  it('records a whole script fed to `ssh host bash < script.sh` and to `ssh host sh -s`', async () => {
    const lines = ['set -u', 'echo "script-begin"', 'for i in 1 2 3; do echo "loop-$i"; done', 'echo "to-stderr" >&2',
      ...Array.from({ length: 200 }, (_, n) => `: filler line ${n} ${'x'.repeat(40)}`), 'echo "script-end"'];
    const script = lines.join('\n') + '\n';
    const file = join(fx.dir, 'script.sh');
    writeFileSync(file, script);
    for (const shell of ['bash', 'sh -s']) {
      const s = await session(() => {
        const r = run('bash', ['-c', `ssh ${fx.sshOpts(['-i', fx.opsKey, '-o', 'BatchMode=yes']).join(' ')} ops+web01@127.0.0.1 ${shell} < ${file}`]);
        expect(r.status).toBe(0);
        expect(r.stdout).toBe('script-begin\nloop-1\nloop-2\nloop-3\nscript-end\n');
      });
      const r = await streams(s.layout);
      expect(r.header).toMatchObject({ command: shell, portcullis: { pty: false } });
      expect(r.i).toBe(script);
      expect(r.o).toBe('script-begin\nloop-1\nloop-2\nloop-3\nscript-end\n');
      expect(r.e).toBe('to-stderr\n');
    }
  });

  it('records an exec command\'s stdin whole, binary bytes included, with digests of the exact bytes', async () => {
    const input = Buffer.concat([Buffer.from('first line\n'), Buffer.from([0xff, 0x00, 0x1b]), Buffer.from('\nwith ümlaut and the end\n'.repeat(2000))]);
    const s = await session(async () => {
      const r = await fx.ssh('ops+web01', ['cat > /tmp/pc-nopty-stdin.bin; wc -c < /tmp/pc-nopty-stdin.bin'], { input });
      expect(r.stdout.toString().trim()).toBe(String(input.length));
    });
    const r = await streams(s.layout);
    expect(r.header['command']).toBe('cat > /tmp/pc-nopty-stdin.bin; wc -c < /tmp/pc-nopty-stdin.bin');
    // Lossless: UTF-8 as sent (split reads never break a character), the bytes that are not UTF-8
    // kept as U+DC00+byte, so the exact input comes back.
    expect(inputBytes(r.i).equals(input)).toBe(true);
    expect(r.i.startsWith('first line\n\udcff\u0000\u001b\n')).toBe(true);
    expect(r.i).toContain('with ümlaut and the end');
    expect(execEvents(s.layout)[0]).toMatchObject({ stdin: { bytes: input.length } });
  });

  it('replays through `portcullis play`, `export` and the player windows, input shown, stderr apart', async () => {
    const s = await session(async () => {
      await fx.ssh('ops+web01', ['sh -s'], { input: 'echo replay-out\necho replay-err >&2\n' });
    });
    const played = fx.gw.admin(['play', s.id, '--speed', '1000']);
    expect(played.code).toBe(0);
    // A transcript: the input in green, stdout as is, stderr in red, newlines as a terminal wants.
    expect(played.stdout).toContain('\u001b[32mecho replay-out\r\necho replay-err >&2\r\n\u001b[39m');
    expect(played.stdout).toContain('replay-out\r\n');
    expect(played.stdout).toContain('\u001b[31mreplay-err\r\n\u001b[39m');
    const exported = fx.gw.admin(['export', s.id]).stdout;
    expect(exported).toContain('"i","echo replay-out\\necho replay-err >&2\\n"');
    expect(exported).toContain('"e","replay-err\\n"');
    // `asciinema cat` accepts the file (it plays "o" only: our codes are skipped).
    const asciinema = requireBinary('asciinema', 'asciinema');
    writeFileSync(join(fx.dir, 'pipe.cast'), exported);
    expect(run('script', ['-qec', `${asciinema} cat ${join(fx.dir, 'pipe.cast')}`, '/dev/null']).stdout).toContain('replay-out');
  });
});

describe('the web player', () => {
  it('plays the typed `ssh -T` session: every command with its output and its error', async () => {
    expect(typedSession).not.toBe('');
    const browser = await launchChromium();
    try {
      const page = await (await newContext(browser)).newPage();
      await signIn(page, fx.gw.url, 'ivy', 'ivy-Password-1');
      await page.goto(`${fx.gw.url}/#/session/${typedSession}`);
      await page.waitForSelector('#terminal .xterm-rows');
      const max = Number(await page.getAttribute('#seek', 'max'));
      await page.locator('#seek').fill(String(max));
      await page.locator('#seek').dispatchEvent('change');
      const atEnd = await page.waitForFunction(() => {
        const rows = Array.from(document.querySelectorAll('#terminal .xterm-rows > div'), (r: Element): string => r.textContent ?? '');
        return rows.some((r) => r.startsWith('exit')) ? rows : null;
      });
      const rows = (await atEnd.jsonValue()) as string[];
      await page.screenshot({ path: screenshotPath('player-no-pty') });
      // Each on a line of its own (bare newlines drawn as new lines), input first, in order.
      const lines = rows.map((r) => r.trimEnd()).filter(Boolean);
      expect(lines).toEqual([
        'echo "typed-one $((6*7))"', 'typed-one 42', 'ls /nonexistent-typed-two',
        "ls: cannot access '/nonexistent-typed-two': No such file or directory",
        'touch /tmp/pc-nopty-typed-$$ && rm /tmp/pc-nopty-typed-$$ && echo typed-three-done', 'typed-three-done', 'exit',
      ]);
    } finally {
      await browser.close();
    }
  }, 90_000);

  it('shows a running `ssh -T` session live as a transcript: typed commands and their output', async () => {
    const browser = await launchChromium();
    const t = Tmux.start(`ssh -T ${fx.sshOpts(['-i', fx.opsKey, '-o', 'BatchMode=yes']).join(' ')} ops+web01@127.0.0.1`);
    try {
      t.send('echo "before-$((1+1))"');
      await t.waitFor(/^before-2$/m);
      const page = await (await newContext(browser)).newPage();
      await signIn(page, fx.gw.url, 'ivy', 'ivy-Password-1');
      await page.waitForSelector('tr.live a');
      await page.click('tr.live a');
      await page.waitForSelector('#live-status:has-text("live")');
      const rows = async (): Promise<string[]> => (await page.locator('#terminal .xterm-rows > div').allTextContents()).map((r) => r.trimEnd()).filter(Boolean);
      await page.waitForFunction(() => document.querySelector('#terminal .xterm-rows')?.textContent?.includes('before-2'));
      t.send('echo "while-$((40+2))" >&2');
      await page.waitForFunction(() => document.querySelector('#terminal .xterm-rows')?.textContent?.includes('while-42'), undefined, { timeout: 10_000 });
      await page.screenshot({ path: screenshotPath('live-no-pty') });
      expect(await rows()).toEqual(['echo "before-$((1+1))"', 'before-2', 'echo "while-$((40+2))" >&2', 'while-42']);
      t.send('exit');
    } finally {
      t.kill();
      await browser.close();
    }
  }, 90_000);
});

describe('the input cap', () => {
  it('cuts a session whose input passes the cap, with a reason and a message; the target got no byte the record lacks', async () => {
    const input = Buffer.alloc(4 * INPUT_CAP, 'abcdefghijklmnopqrstuvwxyz\n');
    let stderr = '';
    let status = 0;
    const s = await session(async () => {
      const r = await fx.ssh('ops+web01', ['cat > /tmp/pc-nopty-cap.txt'], { input });
      stderr = r.stderr;
      status = r.status;
    });
    expect(s.reason).toBe('input-cap-exceeded');
    expect(status).not.toBe(0);
    expect(stderr).toMatch(/Portcullis: session ended: input sent without a terminal passed the size Portcullis records whole.*scp, sftp or rsync/);
    const r = await streams(s.layout);
    expect(Buffer.byteLength(r.i)).toBeLessThanOrEqual(INPUT_CAP);
    expect(r.m.some((m) => /^input refused: \d+ bytes over the 262144-byte cap$/.test(m))).toBe(true);
    expect(r.m).toContain('cut: input-cap-exceeded');
    // Nothing the record lacks reached the target: what it got is a prefix of the recorded input
    // (the cut may drop recorded bytes still in flight, never the other way round).
    expect(input.subarray(0, Buffer.byteLength(r.i)).toString()).toBe(r.i);
    const landed = (await fx.ssh('ops+web01', ['cat /tmp/pc-nopty-cap.txt'])).stdout.toString();
    expect(landed.length).toBeGreaterThan(0);
    expect(landed.length).toBeLessThanOrEqual(Buffer.byteLength(r.i));
    expect(r.i.startsWith(landed)).toBe(true);
    const audit = fx.gw.admin(['audit', 'export']).stdout;
    expect(audit).toContain(`"code":"session.ended","actor":"ops","data":{"reason":"input-cap-exceeded","session":"${s.id}"}`);
  });

  it('stops recording output past the output cap, says so, keeps the digest, and does not cut', async () => {
    const s = await session(async () => {
      const r = await fx.ssh('ops+web01', [`head -c ${4 * OUTPUT_CAP} /dev/zero | tr '\\0' a; echo; echo output-end >&2`]);
      expect(r.status).toBe(0);
      expect(r.stdout.length).toBe(4 * OUTPUT_CAP + 1);
    });
    expect(s.reason).toBe('closed-by-client');
    const r = await streams(s.layout);
    // The cap counts output as stored (event lines), so the cast stays within it.
    expect(r.o.length).toBeGreaterThan(0);
    expect(r.o).toMatch(/^a+$/);
    expect(r.o.length).toBeLessThanOrEqual(OUTPUT_CAP);
    expect(statSync(s.layout.cast(s.layout.castChannels()[0]!)).size).toBeLessThan(OUTPUT_CAP + 2048);
    expect(r.m).toContain(`output not recorded past ${OUTPUT_CAP} bytes (byte counts and SHA-256 in events.ndjson)`);
    expect(execEvents(s.layout)[0]).toMatchObject({ stdout: { bytes: 4 * OUTPUT_CAP + 1 } });
  });

  it('lets file transfers past the cap: sftp, legacy scp and rsync, their data not recorded as input', async () => {
    const src = join(fx.dir, 'big.bin');
    writeFileSync(src, Buffer.alloc(4 * INPUT_CAP, 7));
    const opts = fx.sshOpts(['-i', fx.opsKey, '-o', 'BatchMode=yes']);
    const scpOpts = opts.map((o) => (o === '-p' ? '-P' : o));
    for (const [name, act] of [
      ['sftp', () => run(requireBinary('openssh-client', 'sftp'), ['-b', '-', ...scpOpts, 'ops+web01@127.0.0.1'], { input: `put ${src} /tmp/pc-nopty-sftp.bin\n` })],
      ['scp -O', () => run(requireBinary('openssh-client', 'scp'), ['-O', ...scpOpts, src, 'ops+web01@127.0.0.1:/tmp/pc-nopty-scp.bin'])],
      ['rsync', () => run(requireBinary('rsync', 'rsync'), ['-e', `ssh ${opts.join(' ')}`, src, 'ops+web01@127.0.0.1:/tmp/pc-nopty-rsync.bin'])],
    ] as const) {
      const s = await session(() => { const r = act(); expect(r.status, `${name}: ${r.stderr}`).toBe(0); });
      expect(s.reason, name).toBe('closed-by-client');
      expect(s.layout.castChannels(), name).toHaveLength(0);
    }
  });

  it('does not take a command that only starts like a transfer for one', async () => {
    const s = await session(async () => {
      await fx.ssh('ops+web01', ['scp -t /tmp/pc-nopty-x; cat > /tmp/pc-nopty-disguised.txt'], { input: Buffer.alloc(2 * INPUT_CAP, 'x') });
    });
    expect(s.reason).toBe('input-cap-exceeded');
    const r = await streams(s.layout);
    expect(r.header['command']).toBe('scp -t /tmp/pc-nopty-x; cat > /tmp/pc-nopty-disguised.txt');
  });

  it('keeps binary input whole: a gzip fed to `gunzip | sh` is in the record, byte for byte', async () => {
    const gz = gzipSync(Buffer.from('echo pc-gz-ran\n'));
    const s = await session(async () => {
      const r = await fx.ssh('ops+web01', ['gunzip | sh'], { input: gz });
      expect(r.stdout.toString()).toBe('pc-gz-ran\n');
    });
    const r = await streams(s.layout);
    expect(inputBytes(r.i).equals(gz)).toBe(true);
    expect(gunzipSync(inputBytes(r.i)).toString()).toBe('echo pc-gz-ran\n');
  });

  it('records the stdin of a shell the user planted as /tmp/.../scp, and of rsync -s (its argv on stdin could start an rsyncd)', async () => {
    // A shell under a transfer's name: it runs the commands it reads from stdin.
    const plant = await fx.ssh('ops+web01', ["mkdir -p /tmp/pc-fake && printf '#!/bin/sh\\nexec sh\\n' > /tmp/pc-fake/scp && chmod +x /tmp/pc-fake/scp"]);
    expect(plant.status, plant.stderr).toBe(0);
    const fake = await session(async () => {
      const r = await fx.ssh('ops+web01', ['/tmp/pc-fake/scp -t /tmp/pc-fake'], { input: 'id > /tmp/pc-fake/ran\n' });
      expect(r.status, r.stderr).toBe(0);
    });
    expect(fake.layout.castChannels()).toHaveLength(1);
    expect((await streams(fake.layout)).i).toBe('id > /tmp/pc-fake/ran\n');
    // rsync reads the rest of its argv from stdin with -s, `--daemon` included: that is input, recorded.
    const args = 'rsync\0--daemon\0--config=/dev/null\0.\0\0';
    const rs = await session(async () => { await fx.ssh('ops+web01', ['rsync --server -s .'], { input: args }); });
    expect(rs.layout.castChannels()).toHaveLength(1);
    expect((await streams(rs.layout)).i).toBe(args);
  });
});
