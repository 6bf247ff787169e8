import { z } from 'zod';
import { kpiOptionsFor } from '../kpi/kpi-options.ts';
import type { KpiOptions, KpiThresholds } from '../kpi/kpis.ts';
import { createRedis } from '../redis/redis.ts';
import { loadRoutingConfig } from '../routing/routing-config.ts';

/** The queues' thresholds as RoutingAdmin stores the run-time config (`<prefix>routing:config`). */
const StoredQueues = z.object({
  queues: z.array(z.object({ name: z.string(), serviceLevelSeconds: z.number().optional(), shortAbandonSeconds: z.number().optional() })),
});

export interface KpiConfigSource {
  readonly kpi: KpiThresholds;
  readonly flowsDir: string;
  readonly redis: { readonly url: string; readonly prefix: string };
}

/**
 * The thresholds the app counts with now, for `hotline reports rebuild`: SERVICE_LEVEL_SECONDS
 * and SHORT_ABANDON_SECONDS, and each queue's own from the config the app runs (edits made
 * through the API live in Redis; queues.json when Redis holds none or does not answer in
 * `timeoutMs`). `from` says which.
 */
export async function configuredKpi(src: KpiConfigSource, timeoutMs = 2_000): Promise<{ kpi: KpiOptions; from: 'redis' | 'files' }> {
  const stored = await storedQueues(src.redis, timeoutMs).catch(() => null);
  if (stored) return { kpi: kpiOptionsFor(src.kpi, stored), from: 'redis' };
  return { kpi: kpiOptionsFor(src.kpi, (await loadRoutingConfig(src.flowsDir)).queues), from: 'files' };
}

async function storedQueues(redis: { url: string; prefix: string }, timeoutMs: number): Promise<z.infer<typeof StoredQueues>['queues'] | null> {
  const client = createRedis(redis.url);
  client.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    const text = await Promise.race([
      client.get(`${redis.prefix}routing:config`),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('redis did not answer')), timeoutMs))),
    ]);
    return text === null ? null : StoredQueues.parse(JSON.parse(text)).queues;
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}
