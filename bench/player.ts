// Web player benchmark, in real headless Chromium: time to first frame and seek latency (p50/p99
// over 50 random seeks) on a generated 1-hour recording with ~50 MB of output. Measured twice:
// cold (keyframes built on first open) and with the keyframe sidecar written at recording close.
//   npm run bench:player
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeKeyframes } from '../recorder/keyframes.js';
import { launchChromium, newContext } from '../test/harness/browser.js';
import { startSshFixture } from '../test/harness/ssh-fixture.js';

const fx = await startSshFixture();
fx.grant('ops', 'web01', '2h');
await fx.ssh('ops+web01', ['true'], { extra: ['-tt'] });
await new Promise((r) => setTimeout(r, 1500));
const id = (JSON.parse(fx.gw.admin(['session', 'list', '--json']).stdout) as Array<{ id: string }>)[0]!.id;
fx.gw.admin(['user', 'add', 'boss', '--role', 'admin', '--password-stdin'], 'boss-Password-1\n');

// One hour, ~50 MB: a busy build log with colours and cursor moves, 14 KB per second.
const cast = join(fx.gw.dataDir, 'recordings', id, 'ch-1.cast');
const lines = [JSON.stringify({ version: 2, width: 120, height: 40 })];
let seed = 7;
const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
for (let t = 0; t < 3600; t += 0.1) {
  const out = `\u001b[3${rnd(8)}m[${t.toFixed(1)}]\u001b[0m compiling module-${rnd(100000)}.ts ${'.'.repeat(rnd(80))} ok\r\n`.repeat(10);
  lines.push(JSON.stringify([Number(t.toFixed(1)), 'o', out]));
}
writeFileSync(cast, lines.join('\n') + '\n');
const mb = statSync(cast).size / 1e6;

const browser = await launchChromium();
const page = await (await newContext(browser)).newPage();
await page.goto(fx.gw.url + '/');
await page.fill('input[name=user]', 'boss');
await page.fill('input[name=password]', 'boss-Password-1');
await page.click('button[type=submit]');
await page.waitForSelector('#who');

async function measure(label: string): Promise<string> {
  const t0 = Date.now();
  await page.goto(`${fx.gw.url}/#/sessions`);
  await page.goto(`${fx.gw.url}/#/session/${id}`);
  await page.waitForFunction(() => (document.querySelector('#terminal .xterm-rows')?.textContent ?? '').includes('compiling'), undefined, { timeout: 120_000 });
  const firstFrame = Date.now() - t0;
  const seeks: number[] = [];
  for (let i = 0; i < 50; i++) {
    const target = (rnd(35990) / 10).toFixed(1);
    const s0 = Date.now();
    await page.locator('#seek').fill(target);
    await page.locator('#seek').dispatchEvent('change');
    await page.waitForFunction((t) => location.hash.endsWith(`?t=${t}`) && (document.querySelector('#terminal .xterm-rows')?.textContent ?? '').includes(`[${t}]`) , target, { timeout: 30_000 })
      .catch(() => page.waitForFunction((t) => location.hash.endsWith(`?t=${t}`), target));
    seeks.push(Date.now() - s0);
  }
  seeks.sort((a, b) => a - b);
  return `${label.padEnd(28)} first frame ${String(firstFrame).padStart(6)} ms   seek p50 ${String(seeks[25]).padStart(4)} ms   p99 ${String(seeks[49]).padStart(4)} ms`;
}

const cold = await measure('cold (no keyframe sidecar)');
await writeKeyframes(cast);
// A fresh gateway cache would read the sidecar; simulate the closed-recording case with a touch.
writeFileSync(cast, lines.join('\n') + '\n');
await writeKeyframes(cast);
const warm = await measure('with keyframe sidecar');
console.log(`\nPortcullis web player benchmark: 1-hour recording, ${mb.toFixed(1)} MB, 120x40, headless Chromium\n`);
console.log(cold);
console.log(warm);
await browser.close();
await fx.stop();
process.exit(0);
