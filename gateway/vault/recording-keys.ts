// The gateway's recording keys: the keys masked terminal input is sealed under (AES-256-GCM, the
// vault's format). Each is a random 32-byte key kept in the store wrapped by the vault (master
// key, AAD "recording-key:<id>"), so a recording alone — or a recording plus the store without the
// master key — reveals nothing. A master-key rotation re-wraps these rows with everything else the
// vault seals (credential-vault.ts), so spans sealed before it stay readable; the recording keys
// themselves never change, and old ones are kept for reading.
// It does not decide who may reveal a span or record that someone did (session/masked-reveal.ts).
import { randomBytes } from 'node:crypto';
import type { SpanOpener, SpanSealer } from '../../recorder/masked-spans.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { PortcullisError } from '../util/errors.js';
import { aadFor, keyId, Vault } from './vault.js';

export class RecordingKeys implements SpanSealer, SpanOpener {
  /** The recording keys as a key ring: the newest seals, any opens. */
  private ring: Vault | null = null;
  private loading: Promise<Vault> | null = null;

  constructor(private readonly store: Store, private readonly vault: Vault, private readonly clock: Clock) {}

  /** Loads the keys (creating the first one); a failed load is retried by the next call. */
  async ready(): Promise<SpanSealer> {
    await this.load();
    return this;
  }

  seal(plain: Buffer, aad: string): string {
    if (!this.ring) throw new PortcullisError('unavailable', 'recording keys are not loaded');
    return this.ring.seal(plain, aad);
  }

  async open(token: string, aad: string): Promise<Buffer> {
    let ring = await this.load();
    // Another node may have created a key since we loaded ours (they share the store).
    if (!ring.holds(token)) ring = await this.load(true);
    return ring.open(token, aad);
  }

  private load(again = false): Promise<Vault> {
    if (this.ring && !again) return Promise.resolve(this.ring);
    this.loading ??= this.read().then((ring) => {
      this.ring = ring;
      return ring;
    }).finally(() => { this.loading = null; });
    return this.loading;
  }

  private async read(): Promise<Vault> {
    // In one transaction, so two first sessions (or two nodes) do not each create a key.
    const rows = await this.store.transaction(async () => {
      const existing = await this.store.recordingKeys.list();
      if (existing.length > 0) return existing;
      const key = randomBytes(32);
      const id = keyId(key);
      const row = { id, sealed: this.vault.seal(key, aadFor.recordingKey(id)), createdAt: this.clock.now() };
      key.fill(0);
      await this.store.recordingKeys.insert(row);
      return [row];
    });
    return new Vault(rows.map((r) => this.vault.open(r.sealed, aadFor.recordingKey(r.id))));
  }
}
