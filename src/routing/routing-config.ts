import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AgentConfigSchema, QueueConfigSchema, STRATEGIES, type AgentConfig, type QueueConfig } from './types.ts';

const QueuesFile = z.object({
  queues: z.record(
    z.string(),
    z.object({
      skills: z.array(z.string()),
      minProficiency: z.number().int().min(1).max(5).default(1),
      strategy: z.enum(STRATEGIES).default('longest-idle'),
      ringTimeoutSeconds: z.number().int().min(1).max(600).default(15),
      wrapUpSeconds: z.number().int().min(0).max(3600).default(10),
      maxWaitSeconds: z.number().int().min(1).max(86_400).default(300),
      agingPerMinute: z.number().min(0).max(100).default(1),
      serviceLevelSeconds: z.unknown().optional(),
      shortAbandonSeconds: z.unknown().optional(),
      announce: z.unknown().optional(),
      overflow: z.unknown().optional(),
      callback: z.boolean().optional(),
      callbackRetry: z.unknown().optional(),
      joinWhenEmpty: z.boolean().optional(),
    }),
  ),
});
const AgentsFile = z.object({ agents: z.array(AgentConfigSchema) });

export interface RoutingConfig {
  readonly queues: QueueConfig[];
  readonly agents: AgentConfig[];
}

/** A loaded file config and the hash of what it says, to tell whether an admin edited the files. */
export interface FileRoutingConfig extends RoutingConfig {
  readonly sourceHash: string;
}

/**
 * SHA-256 of the parsed config, not of the bytes: reformatting the files or editing a
 * `$comment` does not count as a change (it would discard edits made through the API).
 */
export function routingConfigHash(cfg: RoutingConfig): string {
  return createHash('sha256').update(JSON.stringify({ queues: cfg.queues, agents: cfg.agents })).digest('hex');
}

/** Queues (ivr-flows/queues.json) and agents (ivr-flows/agents.json) for the routing store. */
export async function loadRoutingConfig(dir: string): Promise<FileRoutingConfig> {
  const read = async (f: string) => JSON.parse(await readFile(join(dir, f), 'utf8')) as unknown;
  const q = QueuesFile.parse(await read('queues.json'));
  const queues = Object.entries(q.queues).map(([name, c]) =>
    QueueConfigSchema.parse({
      name,
      skills: c.skills.map((skill) => ({ skill, minProficiency: c.minProficiency })),
      strategy: c.strategy,
      ringTimeoutSeconds: c.ringTimeoutSeconds,
      wrapUpSeconds: c.wrapUpSeconds,
      maxWaitSeconds: c.maxWaitSeconds,
      agingPerMinute: c.agingPerMinute,
      serviceLevelSeconds: c.serviceLevelSeconds,
      shortAbandonSeconds: c.shortAbandonSeconds,
      announce: c.announce,
      overflow: c.overflow,
      callback: c.callback,
      callbackRetry: c.callbackRetry,
      joinWhenEmpty: c.joinWhenEmpty,
    }),
  );
  const agents = AgentsFile.parse(await read('agents.json')).agents;
  return { queues, agents, sourceHash: routingConfigHash({ queues, agents }) };
}
