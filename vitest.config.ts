import { defineConfig } from 'vitest/config';

// Two cores: e2e files start real peers (sshd, postgres, mariadb) and a gateway each,
// so run at most two files at once and give them room.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
