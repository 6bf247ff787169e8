import type { AuditStore } from './audit-store.ts';

/** How often a running process beats as an audit writer and sweeps the rows of writers gone. */
export const AUDIT_BEAT_MS = 20_000;

export interface AuditBeatEvents {
  /** Rows left pending by a writer that stopped were resolved as 'interrupted'. */
  resolved(rows: number): void;
  /** Postgres did not take the beat or the sweep; the next tick tries again. */
  failed(err: Error): void;
}

/**
 * Keeps this process's audit writer alive and resolves the pending rows of writers that stopped
 * (crashed, killed, or cut off from Postgres for longer than AUDIT_STALE_AFTER_MS): one tick at
 * once, so a restarted instance sweeps its previous life's rows as soon as they are stale, then
 * every AUDIT_BEAT_MS, each tick after the last one ended. Every instance sweeps; the sweep is
 * one statement, so two at once resolve each row once. Returns the stop function.
 */
export function startAuditBeat(store: AuditStore, events: AuditBeatEvents, everyMs = AUDIT_BEAT_MS): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async () => {
    try {
      await store.beat();
      const rows = await store.resolveInterrupted();
      if (rows > 0) events.resolved(rows);
    } catch (err) {
      events.failed(err as Error);
    }
    if (!stopped) timer = setTimeout(() => void tick(), everyMs).unref();
  };
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
