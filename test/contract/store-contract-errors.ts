// Helper of the Store contract: what error code a store call rejected with.
import { isPortcullisError } from '../../gateway/util/errors.js';

/** Resolves to the error's code when `p` rejects with a PortcullisError; fails the test otherwise. */
export async function rejectionCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isPortcullisError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a rejection');
}
