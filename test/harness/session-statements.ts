// Statement records of every session under a gateway's data dir, each with its session id (the
// recording directory's name), read with the recorder's reader; a whole line it cannot read fails
// the test. For tests that open a record's side file, which lives in its session's directory.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { RecordingLayout, recordingsRoot } from '../../recorder/layout.js';
import { parseStatementLine } from '../../recorder/statement-reader.js';
import type { StatementRecord } from '../../recorder/statement-record.js';

export function sessionStatements(dataDir: string): Array<{ session: string; record: StatementRecord }> {
  const root = recordingsRoot(dataDir);
  return readdirSync(root).flatMap((session) => {
    const path = RecordingLayout.of(root, session).statements;
    if (!existsSync(path)) return [];
    const text = readFileSync(path, 'utf8');
    // A line without its newline is still being written: not a record yet.
    return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => {
      const r = parseStatementLine(l);
      if (!r.ok) throw new Error(`unreadable statement record in ${path}: ${r.problem}: ${l.slice(0, 200)}`);
      return { session, record: r.record };
    });
  });
}
