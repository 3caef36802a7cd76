// A small typed in-process event bus. Access services publish what happened; the session layer
// (cut on revoke, re-arm on extend) and the webhook notifier subscribe. Publishing never throws:
// a failing subscriber is reported and the others still run, so notification can't block a decision.

export class EventBus<Events extends { [K in keyof Events]: unknown }> {
  private handlers = new Map<keyof Events, Array<(payload: never) => void>>();

  constructor(private readonly onError: (event: string, err: unknown) => void = () => {}) {}

  on<K extends keyof Events>(event: K, fn: (payload: Events[K]) => void): () => void {
    const list = this.handlers.get(event) ?? [];
    list.push(fn);
    this.handlers.set(event, list);
    return () => {
      const l = this.handlers.get(event);
      if (l) this.handlers.set(event, l.filter((h) => h !== fn));
    };
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const fn of this.handlers.get(event) ?? []) {
      try {
        (fn as (p: Events[K]) => void)(payload);
      } catch (err) {
        this.onError(String(event), err);
      }
    }
  }
}
