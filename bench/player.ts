// Web player benchmark, in real headless Chromium: time to first frame and seek latency (p50/p99
// over 50 random seeks) on a generated 1-hour recording with ~50 MB of output. Measured twice:
// cold (index built on first open) and with the index sidecar written at recording close.
//   npm run bench:player
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { keyframePath, writeKeyframes } from '../recorder/keyframes.js';
import { launchChromium, newContext } from '../test/harness/browser.js';
import { startSshFixture } from '../test/harness/ssh-fixture.js';
import { RecordingLayout } from '../recorder/layout.js';

const fx = await startSshFixture();
fx.grant('ops', 'web01', '2h');
// Two real sessions whose recordings are replaced by the generated hour: one opened cold (no index
// yet: built on first open), one with the index written as at recording close. Separate files, so
// neither pass profits from the other's server cache; a fresh browser context for each pass.
await fx.ssh('ops+web01', ['true'], { extra: ['-tt'] });
await fx.ssh('ops+web01', ['true'], { extra: ['-tt'] });
await new Promise((r) => setTimeout(r, 1500));
const ids = (JSON.parse(fx.gw.admin(['session', 'list', '--json']).stdout) as Array<{ id: string }>).map((s) => s.id);
fx.gw.admin(['user', 'add', 'boss', '--role', 'admin', '--password-stdin'], 'boss-Password-1\n');

// One hour, ~50 MB: a busy build log with colours, 14 lines every 0.1 s.
const lines = [JSON.stringify({ version: 2, width: 120, height: 40 })];
let seed = 7;
const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
for (let t = 0; t < 3600; t += 0.1) {
  const out = `\u001b[3${rnd(8)}m[${t.toFixed(1)}]\u001b[0m compiling module-${rnd(100000)}.ts ${'.'.repeat(rnd(80))} ok\r\n`.repeat(14);
  lines.push(JSON.stringify([Number(t.toFixed(1)), 'o', out]));
}
const casts = ids.slice(0, 2).map((id) => RecordingLayout.inDataDir(fx.gw.dataDir, id).cast(1));
for (const c of casts) {
  writeFileSync(c, lines.join('\n') + '\n');
  rmSync(keyframePath(c), { force: true });
}
const t0 = Date.now();
await writeKeyframes(casts[1]!);
const indexMs = Date.now() - t0;
const mb = statSync(casts[0]!).size / 1e6;

const browser = await launchChromium();

async function measure(label: string, id: string): Promise<string> {
  const page = await (await newContext(browser)).newPage();
  await page.goto(fx.gw.url + '/');
  await page.fill('input[name=user]', 'boss');
  await page.fill('input[name=password]', 'boss-Password-1');
  await page.click('button[type=submit]');
  await page.waitForSelector('#who');
  const t0 = Date.now();
  await page.goto(`${fx.gw.url}/#/session/${id}`);
  await page.waitForFunction(() => (document.querySelector('#terminal .xterm-rows')?.textContent ?? '').includes('compiling'), undefined, { timeout: 120_000 });
  const firstFrame = Date.now() - t0;
  const seeks: number[] = [];
  for (let i = 0; i < 50; i++) {
    const target = (rnd(35990) / 10).toFixed(1);
    const s0 = Date.now();
    await page.locator('#seek').fill(target);
    await page.locator('#seek').dispatchEvent('change');
    // Done when the screen shows the last line printed at that time.
    await page.waitForFunction((t) => location.hash.endsWith(`?t=${t}`) && (document.querySelector('#terminal .xterm-rows')?.textContent ?? '').includes(`[${t}]`), target, { timeout: 30_000 });
    seeks.push(Date.now() - s0);
  }
  seeks.sort((a, b) => a - b);
  await page.context().close();
  return `${label.padEnd(30)} first frame ${String(firstFrame).padStart(6)} ms   seek p50 ${String(seeks[25]).padStart(4)} ms   p99 ${String(seeks[49]).padStart(4)} ms`;
}

const cold = await measure('cold (index built on open)', ids[0]!);
const warm = await measure('index written at close', ids[1]!);
console.log(`\nPortcullis web player benchmark: 1-hour recording, ${mb.toFixed(1)} MB, 120x40, headless Chromium`);
console.log(`index (keyframes) build: ${indexMs} ms\n`);
console.log(cold);
console.log(warm);
await browser.close();
await fx.stop();
process.exit(0);
