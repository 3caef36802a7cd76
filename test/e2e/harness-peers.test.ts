// The harness's own check: each real peer starts on loopback, and its real client logs in with a
// password, as later protocol tests will do through the gateway.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireBinary, runOk } from '../harness/common.js';
import { startMariadb } from '../harness/mariadb.js';
import { startPostgres } from '../harness/postgres.js';
import { startSshd } from '../harness/sshd.js';

describe('the real peers the harness starts', () => {
  it('OpenSSH sshd accepts the test account by password and by key', async () => {
    const peer = await startSshd();
    try {
      const ssh = requireBinary('openssh-client', 'ssh');
      const common = ['-p', String(peer.port), '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(peer.dir, 'known')}`];
      expect(runOk(ssh, [...common, '-o', 'BatchMode=yes', '-i', peer.clientKeyFile, `${peer.user}@127.0.0.1`, 'echo key-ok'])).toBe('key-ok\n');
      const sshpass = requireBinary('sshpass', 'sshpass');
      const out = runOk(sshpass, ['-e', ssh, ...common, '-o', 'PubkeyAuthentication=no', `${peer.user}@127.0.0.1`, 'echo password-ok'],
        { env: { ...process.env, SSHPASS: peer.password } });
      expect(out).toBe('password-ok\n');
      expect(peer.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    } finally {
      await peer.stop();
    }
  });

  it('PostgreSQL 15 checks passwords with scram-sha-256', async () => {
    const peer = await startPostgres();
    try {
      expect(peer.sql('SELECT 40 + 2').trim()).toBe('42');
      expect(peer.sql("SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host' LIMIT 1").trim()).toBe('scram-sha-256');
    } finally {
      await peer.stop();
    }
  });

  it('MariaDB accepts a password user over TCP', async () => {
    const peer = await startMariadb();
    try {
      peer.createUser('app', 'app-Password-1', 'shop');
      const client = requireBinary('mariadb-client', 'mariadb');
      const out = runOk(client, ['--no-defaults', '-h', '127.0.0.1', '-P', String(peer.port), '-u', 'app', '-papp-Password-1', '-N', '-B', '-e', 'SELECT DATABASE(), 6*7', 'shop']);
      expect(out.trim()).toBe('shop\t42');
    } finally {
      await peer.stop();
    }
  });
});
