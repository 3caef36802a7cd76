// The KILL decision for one MySQL command, without sockets: COM_PROCESS_KILL and statement KILLs are
// rewritten to the user's own upstream thread or refused with the server's own error codes.
import { describe, expect, it } from 'vitest';
import { mapKills } from '../../gateway/mysql/kill-mapping.js';

const resolve = (id: number): number | null => (id === 4242 ? 7 : null);
const cmd = (code: number, body: Buffer | string): Buffer => Buffer.concat([Buffer.from([code]), Buffer.from(body)]);
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };

describe('mapping a command that may kill a thread', () => {
  it('rewrites COM_PROCESS_KILL of an own id and refuses any other, or a malformed one', () => {
    expect(mapKills(cmd(0x0c, u32(4242)), resolve)).toEqual({ kind: 'rewrite', payload: cmd(0x0c, u32(7)) });
    expect(mapKills(cmd(0x0c, u32(5)), resolve)).toMatchObject({ kind: 'refuse', code: 1094, message: 'Unknown thread id: 5' });
    expect(mapKills(cmd(0x0c, Buffer.from([1, 2])), resolve)).toMatchObject({ kind: 'refuse', code: 1094 });
    expect(mapKills(cmd(0x0c, Buffer.concat([u32(4242), Buffer.from([0])])), resolve)).toMatchObject({ kind: 'refuse', code: 1094 });
  });

  it('rewrites every KILL of a statement or prepared statement, all or nothing', () => {
    expect(mapKills(cmd(0x03, 'KILL 4242; kill query 4242'), resolve)).toEqual({ kind: 'rewrite', payload: cmd(0x03, 'KILL 7; kill query 7') });
    expect(mapKills(cmd(0x16, 'KILL 4242'), resolve)).toEqual({ kind: 'rewrite', payload: cmd(0x16, 'KILL 7') });
    expect(mapKills(cmd(0x03, 'KILL 4242; KILL 5'), resolve)).toMatchObject({ kind: 'refuse', code: 1094, message: 'Unknown thread id: 5', at: 17 });
    expect(mapKills(cmd(0x03, 'KILL USER x'), resolve)).toMatchObject({ kind: 'refuse', code: 1095, sqlstate: 'HY000' });
  });

  it('passes other commands, and statements without a KILL, untouched', () => {
    expect(mapKills(cmd(0x03, 'select 1'), resolve)).toEqual({ kind: 'pass' });
    expect(mapKills(cmd(0x17, u32(1)), resolve)).toEqual({ kind: 'pass' });
    expect(mapKills(cmd(0x02, 'KILL 5'), resolve)).toEqual({ kind: 'pass' });
  });
});
