// Runs the Store contract against the SQLite store, each test on a fresh database file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../gateway/store/sqlite/sqlite-store.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-store-'));
  const file = join(dir, 'state.db');
  const store = openSqliteStore(file);
  return Promise.resolve({
    store,
    openAnother: () => Promise.resolve(openSqliteStore(file)),
    destroy: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
});
