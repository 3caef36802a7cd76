// Where a session's recording is, as its store record says it, on a recordings directory shared by
// several nodes: stored relative to the recordings root (so every node finds it at its own mount
// point), old absolute paths read as they are, and a relative reference that would leave the root
// (a record written by someone with database access) is refused. Which live sessions a starting
// node may close as its own orphans: all of them on SQLite, only its own on a shared store.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ownsAtStart } from '../../gateway/cluster/node-ownership.js';
import { recordingDirOf, recordingRef } from '../../gateway/session/recording-ref.js';
import type { SessionRecord } from '../../gateway/store/records.js';

describe('recording references', () => {
  it('stores a recording under the root as its path relative to the root, and reads it back under any mount point', () => {
    expect(recordingRef('/mnt/rec', '/mnt/rec/ses_abc')).toBe('ses_abc');
    expect(recordingDirOf('/srv/other-mount', 'ses_abc')).toBe(join('/srv/other-mount', 'ses_abc'));
  });

  it('keeps absolute paths: without a root, outside the root, and old records', () => {
    expect(recordingRef(null, '/data/recordings/ses_a')).toBe('/data/recordings/ses_a');
    expect(recordingRef('/mnt/rec', '/elsewhere/ses_a')).toBe('/elsewhere/ses_a');
    expect(recordingDirOf('/mnt/rec', '/data/recordings/ses_old')).toBe('/data/recordings/ses_old');
  });

  it('refuses a relative reference that leaves the recordings root', () => {
    for (const bad of ['../etc', 'ses_a/../../x', '', 'a//b', 'ses\0x']) expect(recordingDirOf('/mnt/rec', bad)).toBeNull();
  });
});

describe('orphans a starting node may close', () => {
  const s = (node: string | null): SessionRecord => ({
    id: 'ses_x', protocol: 'ssh', userId: 'usr_x', targetId: 'tgt_x', grantId: 'gr_x', level: 'default', clientAddr: '127.0.0.1',
    startedAt: 0, endedAt: null, endReason: null, recording: 'ses_x', node,
  });

  it('owns every live session of a SQLite store, whatever node name it was recorded under', () => {
    const owns = ownsAtStart('sqlite', 'gw1');
    expect([owns(s('gw1')), owns(s('old-hostname')), owns(s(null))]).toEqual([true, true, true]);
  });

  it('owns only its own sessions on a shared store', () => {
    const owns = ownsAtStart('postgres', 'n1');
    expect([owns(s('n1')), owns(s('n2')), owns(s(null))]).toEqual([true, false, false]);
  });
});
