import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { splitLines } from '../../gateway/audit/checkpoint-file.js';
import { type CheckpointBody, MAX_CHECKPOINT_LINE, parseCheckpoint, signCheckpoint } from '../../gateway/audit/checkpoint-format.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const body = (n: number): CheckpointBody => ({
  v: 1, n, seq: n * 10, hash: 'a'.repeat(64), at: 1_800_000_000_000 + n, node: 'gw-ü', keyedFrom: 1, keyId: '0123456789abcdef',
  reason: 'schedule', prev: 'b'.repeat(64),
});

async function collect(chunks: Buffer[]): Promise<Array<{ text: string; torn: boolean }>> {
  const out: Array<{ text: string; torn: boolean }> = [];
  for await (const l of splitLines(chunks)) out.push(l);
  return out;
}

describe('checkpoint lines', () => {
  it('split the same at every split point of the file, multi-byte characters included', async () => {
    const lines = [signCheckpoint(body(1), privateKey), signCheckpoint(body(2), privateKey)];
    const bytes = Buffer.from(lines.join('\n') + '\n');
    for (let i = 0; i <= bytes.length; i++) {
      const got = await collect([bytes.subarray(0, i), bytes.subarray(i)]);
      expect(got, `split at ${i}`).toEqual(lines.map((text) => ({ text, torn: false })));
      expect(got.every((l) => parseCheckpoint(l.text, publicKey).ok)).toBe(true);
    }
    // Byte by byte as well.
    expect(await collect([...bytes].map((b) => Buffer.from([b])))).toEqual(lines.map((text) => ({ text, torn: false })));
  });

  it('mark a last line without a newline as torn, at every split point', async () => {
    const bytes = Buffer.from(signCheckpoint(body(1), privateKey) + '\n{"v":1,"n":2');
    for (let i = 0; i <= bytes.length; i++) {
      const got = await collect([bytes.subarray(0, i), bytes.subarray(i)]);
      expect(got.map((l) => l.torn)).toEqual([false, true]);
    }
  });

  it('never hold a line past the limit, and the parser refuses what was cut', async () => {
    const huge = Buffer.alloc(10 * 1024 * 1024, 0x61);
    const got = await collect([huge.subarray(0, 3_000_000), huge.subarray(3_000_000), Buffer.from('\nnext\n')]);
    expect(got[0]!.text.length).toBe(MAX_CHECKPOINT_LINE + 1);
    expect(got[1]).toEqual({ text: 'next', torn: false });
    expect(parseCheckpoint(got[0]!.text, publicKey)).toMatchObject({ ok: false, why: expect.stringMatching(/longer than/) as string });
  });

  it('refuse extra or missing fields, bad values and a signature from another key', () => {
    const line = signCheckpoint(body(1), privateKey);
    const obj = JSON.parse(line) as Record<string, unknown>;
    const other = generateKeyPairSync('ed25519');
    expect(parseCheckpoint(line, other.publicKey)).toMatchObject({ ok: false, why: 'bad signature' });
    expect(parseCheckpoint(JSON.stringify({ ...obj, extra: 1 }), publicKey)).toMatchObject({ ok: false, why: 'unexpected fields' });
    const { sig: _sig, ...noSig } = obj;
    expect(parseCheckpoint(JSON.stringify(noSig), publicKey)).toMatchObject({ ok: false });
    expect(parseCheckpoint(JSON.stringify({ ...obj, seq: -1 }), publicKey)).toMatchObject({ ok: false, why: 'bad field value' });
    expect(parseCheckpoint(JSON.stringify({ ...obj, seq: 1.5 }), publicKey)).toMatchObject({ ok: false, why: 'bad field value' });
    expect(parseCheckpoint(JSON.stringify({ ...obj, hash: 'zz' }), publicKey)).toMatchObject({ ok: false, why: 'bad hash' });
    expect(parseCheckpoint(JSON.stringify({ ...obj, reason: 'whatever' }), publicKey)).toMatchObject({ ok: false, why: 'bad reason' });
    expect(parseCheckpoint('[1,2]', publicKey)).toMatchObject({ ok: false });
    expect(parseCheckpoint('not json', publicKey)).toMatchObject({ ok: false, why: 'not JSON' });
    // Key order does not matter to the signature (canonical JSON), but every value does.
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(obj).reverse()));
    expect(parseCheckpoint(reordered, publicKey)).toMatchObject({ ok: true });
    expect(parseCheckpoint(JSON.stringify({ ...obj, at: (obj.at as number) + 1 }), publicKey)).toMatchObject({ ok: false, why: 'bad signature' });
  });
});
