import type { Logger } from '../log/logger.ts';

/**
 * An event sink that also hands every event to `also` (live stats), after the sink took it.
 * Producers call append() synchronously and must never be disturbed by a second consumer, so
 * a failure in `also` is logged, not thrown.
 */
export function tee<E>(sink: { append(event: E): void }, also: (event: E) => void, log: Logger): { append(event: E): void } {
  return {
    append(event: E): void {
      sink.append(event);
      try {
        also(event);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'live stats did not take an event');
      }
    },
  };
}
