// OpenSSH-style host key fingerprints ("SHA256:<base64, no padding>"), the form targets are pinned
// with. Used by the upstream leg and the login probe; it does not decide whether a key is trusted.
import { createHash } from 'node:crypto';

export function fingerprint(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}
