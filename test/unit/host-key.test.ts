// The gateway's SSH host key from `init`: ssh2 occasionally generates an ed25519 key its own parser
// rejects (about 3 in 1,000), which made `serve` fail at start; init keeps only keys ssh2 can read.
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { newHostKeyPair } from '../../gateway/ssh/host-key.js';

describe('the gateway host key', () => {
  it('throws away a generated key ssh2 cannot read back and makes another', () => {
    const good = ssh2.utils.generateKeyPairSync('ed25519');
    const unreadable = { private: good.private.replace(/AAAA/, 'AAAB'), public: good.public };
    expect(ssh2.utils.parseKey(unreadable.private)).toBeInstanceOf(Error);
    const made = [unreadable, good];
    let calls = 0;
    expect(newHostKeyPair(() => made[calls++]!)).toBe(good);
    expect(calls).toBe(2);
  });

  it('gives a readable key every time over many generations', () => {
    for (let i = 0; i < 1500; i++) expect(ssh2.utils.parseKey(newHostKeyPair().private)).not.toBeInstanceOf(Error);
  });
});
