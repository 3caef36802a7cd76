// The KILL scanner against the real MariaDB lexer: seeded random texts built from the pieces that
// make lexers disagree (quotes, backslashes, comments, versioned comments, `;`, double-byte lead
// bytes, sql_mode and character-set switches part-way) are sent straight to MariaDB in several
// session modes. Whenever the server ran `KILL 999999` (it answers "Unknown thread id: 999999"),
// the scanner must have found that KILL or refused the text. Refusing more than needed is allowed.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MariadbPeer, startMariadb } from '../harness/mariadb.js';
import { scanKills } from '../../gateway/mysql/sql/kill-scan.js';

const PIECES = [
  'KILL 999999', 'kill query 999999', ' ', ' ', '\n', ';', ';', "'", "'", '"', '`', '\\', "\\'", "''", '/*', '*/', '/*!', '/*!50000', '/*!99999',
  '/*M!', '/*M!100000', '/*M!999999', '-- ', '--', '#', 'SELECT 1', 'SELECT 1', 'DO 1', '\u00bf', '\u00a0', '\u0081', '\\N', 'X', 'N', '1e5',
  "SET sql_mode='NO_BACKSLASH_ESCAPES'", "SET sql_mode='ANSI_QUOTES'", "SET sql_mode=''", 'SET NAMES gbk', 'SET NAMES latin1', 'SET NAMES sjis', 'SET NAMES big5', "SET sql_mode='ORACLE'",
  "EXECUTE IMMEDIATE 'KILL 999999'", "PREPARE s FROM 'KILL 999999'", 'EXECUTE s', 'BEGIN NOT ATOMIC', 'END',
];

/** Statements whose end lexers disagree on, and comments that close what they might have opened. */
const OPENERS = ["SELECT '\\'", 'SELECT "\\"', "SELECT '\u00bf\\'", 'SELECT 1 AS \u00bf`', "SELECT '\u00bf'", 'SELECT `\u00bf`', "SELECT 'a\\''",
  "SELECT '\\\\'", 'SELECT 1 --\u00a0', "/*!99999 '*/", '/*M!999999 /* x */ "*/', "SELECT '\u0081\\'"];
const CLOSERS = ["-- '", '-- "', '-- `', "# '", "'", '"', '`', '*/'];

const MODES: Array<[string, string]> = [
  ['default', "SET sql_mode=DEFAULT, NAMES latin1"],
  ['NO_BACKSLASH_ESCAPES', "SET sql_mode='NO_BACKSLASH_ESCAPES', NAMES latin1"],
  ['ANSI_QUOTES', "SET sql_mode='ANSI_QUOTES', NAMES latin1"],
  ['gbk', 'SET sql_mode=DEFAULT, NAMES gbk'],
  ['sjis', 'SET sql_mode=DEFAULT, NAMES sjis'],
  ['big5', 'SET sql_mode=DEFAULT, NAMES big5'],
  ['ANSI_QUOTES+NO_BACKSLASH_ESCAPES', "SET sql_mode='ANSI_QUOTES,NO_BACKSLASH_ESCAPES', NAMES latin1"],
  ['ORACLE', "SET sql_mode='ORACLE', NAMES latin1"],
];

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let db: MariadbPeer;
let c: mysql.Connection;

beforeAll(async () => {
  db = await startMariadb();
  db.createUser('fuzz', 'Fuzz-Password-1', 'fuzzdb');
  // latin1 on the wire: every char code 0-255 of a JS string is sent as that one byte.
  c = await mysql.createConnection({ host: '127.0.0.1', port: db.port, user: 'fuzz', password: 'Fuzz-Password-1', database: 'fuzzdb',
    multipleStatements: true, charset: 'LATIN1_SWEDISH_CI' });
}, 120_000);

afterAll(async () => {
  await c?.end().catch(() => {});
  await db?.stop();
});

/** Whether the server ran `KILL 999999` (and so answered that the thread does not exist). */
async function serverRanKill(text: string): Promise<boolean> {
  try {
    await c.query(text);
    return false;
  } catch (e) {
    const err = e as { errno?: number; message?: string };
    return err.errno === 1094 && /999999/.test(err.message ?? '');
  }
}

describe('the KILL scanner against the MariaDB lexer', () => {
  it('never says "no KILL" for a text the server ran a KILL from, in any mode (seeded random texts)', async () => {
    // KILL_FUZZ_SEED / KILL_FUZZ_TEXTS replay or widen a run; the default is fixed.
    const next = rng(Number(process.env.KILL_FUZZ_SEED ?? 20261202));
    const pick = (): string => PIECES[Math.floor(next() * PIECES.length)]!;
    let ran = 0;
    const missed: string[] = [];
    const pieces = (max: number): string[] => Array.from({ length: Math.floor(next() * (max + 1)) }, pick);
    const texts = Number(process.env.KILL_FUZZ_TEXTS ?? 1500);
    let refusedQuiet = 0;
    for (let n = 0; n < texts; n++) {
      // Mostly: noise, then a statement boundary and a KILL, then noise — so that the server often
      // reaches the KILL, and the noise decides whether it does.
      const one = (list: readonly string[]): string => list[Math.floor(next() * list.length)]!;
      const kill = next() < 0.5 ? 'KILL 999999' : 'kill query 999999';
      const parts = n % 4 === 0 ? pieces(10)
        : n % 4 === 1 ? [...pieces(6), ';', kill, ...pieces(3)]
          : [...(next() < 0.5 ? [one(PIECES.filter((p) => p.startsWith('SET ')))] : []), ';', one(OPENERS), ...pieces(1), ';', kill, ';', one(CLOSERS)];
      const text = parts.join(next() < 0.5 ? '' : ' ');
      const verdict = scanKills(Buffer.from(text, 'latin1'));
      const found = verdict.kind === 'refuse' || (verdict.kind === 'kills' && verdict.targets.some((t) => t.id === 999999));
      let anyRan = false;
      for (const [mode, set] of MODES) {
        await c.query(set);
        if (await serverRanKill(text)) {
          ran++;
          anyRan = true;
          if (!found) missed.push(`${mode}: ${JSON.stringify(text)}`);
        }
        // A statement prepared here (the gateway would have refused it) must not run in the next text.
        await c.query('DEALLOCATE PREPARE s').catch(() => {});
      }
      if (!anyRan && verdict.kind === 'refuse') refusedQuiet++;
    }
    console.log(`${texts} texts x ${MODES.length} modes: the server ran KILL ${ran} times, all found or refused; ` +
      `${refusedQuiet} texts refused that ran no KILL in any mode`);
    expect(missed).toEqual([]);
    // The texts must actually reach the server's KILL often enough to mean something.
    expect(ran).toBeGreaterThan(100);
  }, 300_000);
});
