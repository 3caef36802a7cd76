// Notifications for the SQLite store. One SQLite file serves one node, so there is nobody else to
// tell, except other stores open on the same file in this process (tests run two apps on one file
// to exercise the cluster logic without PostgreSQL). Delivery is asynchronous, like NOTIFY: never
// inside the publisher's call stack.
import { resolve } from 'node:path';
import type { StoreNotifications } from '../store.js';

const MAX_PAYLOAD = 7000;
const hubs = new Map<string, Set<(payload: string) => void>>();

export function localNotifications(file: string): StoreNotifications {
  const key = file === ':memory:' ? `:memory:${Math.random()}` : resolve(file);
  return {
    publish: (payload) => {
      if (Buffer.byteLength(payload) > MAX_PAYLOAD) return Promise.reject(new Error(`notification payload over ${MAX_PAYLOAD} bytes`));
      const listeners = [...(hubs.get(key) ?? [])];
      setImmediate(() => { for (const fn of listeners) fn(payload); });
      return Promise.resolve();
    },
    listen: (fn, onState) => {
      let set = hubs.get(key);
      if (!set) hubs.set(key, (set = new Set()));
      const listener = (p: string): void => fn(p);
      set.add(listener);
      onState?.(true);
      return Promise.resolve(() => {
        set.delete(listener);
        if (set.size === 0) hubs.delete(key);
        return Promise.resolve();
      });
    },
  };
}
