// Recordings the player must survive, in real headless Chromium: one cut by a crash (no end, a torn
// last line), one with event codes from a newer writer, a 200 MB one (streamed in windows; the
// gateway's memory stays bounded), a session id that does not exist, and a viewer without the role.
import { createWriteStream, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/common.js';
import { launchChromium, newContext, screenshotPath, signIn } from '../harness/browser.js';
import { type SshFixture, startSshFixture } from '../harness/ssh-fixture.js';
import { keyframePath, RecordingLayout } from '../../recorder/layout.js';
import { readRecordingMeta } from '../../recorder/meta.js';

let fx: SshFixture;
let browser: Browser;
let ids: string[] = [];
const header = JSON.stringify({ version: 2, width: 80, height: 24 });

/** Replaces a real session's recording with crafted content (and drops its index). */
function replaceCast(id: string, content: string): string {
  const file = RecordingLayout.inDataDir(fx.gw.dataDir, id).cast(1);
  writeFileSync(file, content);
  rmSync(keyframePath(file), { force: true });
  return file;
}

/** ~200 MB: 2 hours of 28 KB of output per second, every line saying when it was printed. */
async function writeHuge(file: string): Promise<void> {
  rmSync(keyframePath(file), { force: true });
  const out = createWriteStream(file);
  out.write(header + '\n');
  for (let i = 0; i < 72_000; i++) {
    const t = (i / 10).toFixed(1);
    const chunk = `${JSON.stringify([Number(t), 'o', `[at ${t}] ${'w'.repeat(60)}\r\n`.repeat(40)])}\n`;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise((r) => out.end(r));
}

const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const terminalText = (page: Page): Promise<string> => page.locator('#terminal .xterm-rows').innerText();

beforeAll(async () => {
  fx = await startSshFixture();
  fx.grant('ops', 'web01', '30m');
  fx.gw.admin(['user', 'add', 'ivy', '--role', 'investigator', '--password-stdin'], 'ivy-Password-1\n');
  fx.gw.admin(['user', 'add', 'appr', '--role', 'approver', '--password-stdin'], 'appr-Password-1\n');
  for (let i = 0; i < 3; i++) await fx.ssh('ops+web01', ['true'], { extra: ['-tt'] });
  await waitFor('three recordings closed', () => {
    const list = JSON.parse(fx.gw.admin(['session', 'list', '--json']).stdout) as Array<{ id: string; end_reason: string | null }>;
    ids = list.filter((s) => s.end_reason).map((s) => s.id);
    return ids.length === 3 && ids.every((id) => {
      try {
        return Boolean(readRecordingMeta(RecordingLayout.inDataDir(fx.gw.dataDir, id).meta)?.end_reason);
      } catch {
        return false;
      }
    });
  }, 20_000);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await fx?.stop();
});

describe('the player with bad recordings', () => {
  it('replays a recording cut by a crash up to its last whole event and says it ends abruptly', async () => {
    const id = ids[0]!;
    replaceCast(id, `${header}\n[0.1,"o","before the crash\\r\\n"]\n[0.5,"o","last whole line\\r\\n"]\n[0.9,"o","torn in the mid`);
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'ivy', 'ivy-Password-1');
    await page.goto(`${fx.gw.url}/#/session/${id}?t=1`);
    await page.waitForSelector('.error:has-text("ends abruptly")');
    await waitFor('the last whole line', async () => (await terminalText(page)).includes('last whole line'), 10_000);
    expect(await terminalText(page)).not.toContain('torn in the mid');
    await page.screenshot({ path: screenshotPath('player-crash-cut') });
  });

  it('skips event codes it does not know and plays the rest', async () => {
    const id = ids[1]!;
    replaceCast(id, [header, '[0.1,"o","one\\r\\n"]', '[0.2,"x-future","{\\"what\\":\\"a newer writer\\"}"]', '[0.3,"o","two\\r\\n"]', '[0.4,"o","three\\r\\n"]', ''].join('\n'));
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'ivy', 'ivy-Password-1');
    await page.goto(`${fx.gw.url}/#/session/${id}`);
    await page.waitForSelector('#play');
    await page.click('#play');
    await waitFor('the whole recording played', async () => /one[\s\S]*two[\s\S]*three/.test(await terminalText(page)), 10_000);
    expect(await terminalText(page)).not.toContain('newer writer');
  });

  it('opens and seeks a 200 MB recording without loading it whole, in the browser or the gateway', async () => {
    const id = ids[2]!;
    const file = RecordingLayout.inDataDir(fx.gw.dataDir, id).cast(1);
    await writeHuge(file);
    const before = rssMiB(fx.gw.pid);
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'ivy', 'ivy-Password-1');
    await page.goto(`${fx.gw.url}/#/session/${id}?t=5000`);
    await waitFor('the screen at 5000 s', async () => (await terminalText(page)).includes('[at 5000.0]'), 90_000);
    for (const t of ['7100.3', '12.5', '3600.0']) {
      await page.locator('#seek').fill(t);
      await page.locator('#seek').dispatchEvent('change');
      await waitFor(`the screen at ${t} s`, async () => (await terminalText(page)).includes(`[at ${t}]`), 10_000);
    }
    await page.click('#play');
    // Each event fills the screen and the next replaces it 0.1 s later: a poll (slower than that on a
    // loaded machine) can miss any one of them, so any later time just past 3600 s is the proof.
    const shownAt = async (): Promise<number[]> => [...(await terminalText(page)).matchAll(/\[at (\d+\.\d)\]/g)].map((m) => Number(m[1]));
    await waitFor('playing on from 3600 s', async () => (await shownAt()).some((t) => t > 3600 && t < 3660), 10_000);
    await page.screenshot({ path: screenshotPath('player-200mb') });
    // The page holds one window at a time, and so does the gateway (plus a small index).
    const heap = await page.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0);
    expect(heap).toBeLessThan(100 * 1024 * 1024);
    expect(rssMiB(fx.gw.pid) - before).toBeLessThan(150);
  }, 180_000);

  it('says clearly when a session does not exist, or when the viewer may not see recordings', async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, 'ivy', 'ivy-Password-1');
    await page.goto(`${fx.gw.url}/#/session/ses_doesnotexist`);
    await page.waitForSelector('.error:has-text("not-found")');
    const other = await (await newContext(browser)).newPage();
    await signIn(other, fx.gw.url, 'appr', 'appr-Password-1');
    await other.goto(`${fx.gw.url}/#/session/${ids[0]!}`);
    await other.waitForSelector('.error:has-text("forbidden")');
    const api = await other.request.get(`${fx.gw.url}/api/v1/sessions/${ids[0]!}/terminal?from=0&span=10`);
    expect(api.status()).toBe(403);
  });
});
