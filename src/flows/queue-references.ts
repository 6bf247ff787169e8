import type { FlowRepository } from './flow-repository.ts';

/**
 * Ids of the flows whose active version has a queue node for `queue`: removing that queue
 * would send their callers nowhere. Older versions are not counted, so a queue is free once no
 * active version names it; a call still running an older version, or a rollback to one, then
 * finds the queue gone (enqueue is refused and the caller hears the apology).
 */
export function flowsNamingQueue(flows: FlowRepository, queue: string): string[] {
  return flows
    .list()
    .filter((f) => Object.values(flows.active(f.id)?.nodes ?? {}).some((n) => n.type === 'queue' && n.queue === queue))
    .map((f) => f.id);
}
