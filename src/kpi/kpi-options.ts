import type { KpiOptions, KpiThresholds } from './kpis.ts';

/**
 * KpiOptions from the hotline's defaults (SERVICE_LEVEL_SECONDS, SHORT_ABANDON_SECONDS) and the
 * queues' own thresholds (queue configuration). Only queues that set one are listed.
 */
export function kpiOptionsFor(defaults: KpiThresholds, queues: readonly (KpiThresholds & { readonly name: string })[]): KpiOptions {
  const perQueue: Record<string, KpiThresholds> = {};
  for (const q of queues) {
    if (q.serviceLevelSeconds === undefined && q.shortAbandonSeconds === undefined) continue;
    perQueue[q.name] = {
      ...(q.serviceLevelSeconds !== undefined ? { serviceLevelSeconds: q.serviceLevelSeconds } : {}),
      ...(q.shortAbandonSeconds !== undefined ? { shortAbandonSeconds: q.shortAbandonSeconds } : {}),
    };
  }
  return { ...defaults, perQueue };
}

/**
 * KpiOptions that follow queue edits made at run time: `perQueue` is read from `queues()` each
 * time a consumer looks (the rollup writer reads it per batch, so an edit counts from the next
 * batch on). Writers that hold KpiOptions for their lifetime get this object.
 */
export function liveKpiOptions(defaults: KpiThresholds, queues: () => readonly (KpiThresholds & { readonly name: string })[]): KpiOptions {
  // Read once per call in a batch: rebuilt only when the queue list is another array (an edit replaces it).
  let seen: readonly unknown[] | null = null;
  let perQueue: KpiOptions['perQueue'] = {};
  return {
    ...defaults,
    get perQueue() {
      const now = queues();
      if (now !== seen) {
        perQueue = kpiOptionsFor(defaults, now).perQueue;
        seen = now;
      }
      return perQueue;
    },
  };
}
