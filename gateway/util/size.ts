// Byte sizes as people write them in the config: a plain number of bytes, or a number with a unit
// (`512KiB`, `20MiB`, `1GiB`, also `k`/`m`/`g`/`t` and `KB`/`MB`/`GB`/`TB`, all powers of 1024, as
// df -h prints them), or "off" (0, where the key allows it). Anything else is a `bad-request` error.
import { PortcullisError } from './errors.js';

const UNIT: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };
const SIZE = /^(\d{1,15}(?:\.\d{1,6})?)\s*([kmgt]?)(?:i?b)?$/;

/** Bytes, or 0 for "off". */
export function parseSize(value: unknown, key: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  const text = String(value).trim().toLowerCase();
  if (text === 'off' || text === '0') return 0;
  const m = SIZE.exec(text);
  const bytes = m ? Math.floor(Number(m[1]) * UNIT[m[2] ?? '']!) : NaN;
  if (!Number.isSafeInteger(bytes)) {
    throw new PortcullisError('bad-request', `${key}: malformed size "${String(value)}"; write e.g. 1GiB, 512MiB, 20m, a number of bytes, or off`);
  }
  return bytes;
}
