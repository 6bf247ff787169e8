import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
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

/**
 * A config file `<name>.json`, `<name>.yaml` or `<name>.yml` in `dir`, parsed. Exactly one of
 * them must exist: two would leave it unclear which one the admin edits.
 */
async function readConfigFile(dir: string, name: string): Promise<{ file: string; data: unknown }> {
  const found: Array<{ file: string; text: string; yaml: boolean }> = [];
  for (const ext of ['json', 'yaml', 'yml']) {
    const file = join(dir, `${name}.${ext}`);
    try {
      found.push({ file, text: await readFile(file, 'utf8'), yaml: ext !== 'json' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  if (found.length === 0) throw new Error(`no ${name}.json, ${name}.yaml or ${name}.yml in ${dir}`);
  if (found.length > 1) throw new Error(`${found.map((f) => f.file).join(' and ')} both exist: keep one`);
  const { file, text, yaml } = found[0]!;
  try {
    return { file, data: yaml ? parseYaml(text) : JSON.parse(text) };
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

/** `schema` applied to `data`; a failure names the file and the path of each bad value. */
function parseIn<T>(schema: z.ZodType<T>, data: unknown, file: string, at: ReadonlyArray<string | number> = []): T {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${[...at, ...i.path.map(String)].join('.') || '(top)'}: ${i.message}`);
  throw new Error(`${file}: ${issues.join('; ')}`);
}

/** Queues (ivr-flows/queues.json or .yaml) and agents (ivr-flows/agents.json or .yaml) for the routing store. */
export async function loadRoutingConfig(dir: string): Promise<FileRoutingConfig> {
  const qf = await readConfigFile(dir, 'queues');
  const q = parseIn(QueuesFile, qf.data, qf.file);
  const queues = Object.entries(q.queues).map(([name, c]) =>
    parseIn(
      QueueConfigSchema,
      {
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
      },
      qf.file,
      ['queues', name],
    ),
  );
  const af = await readConfigFile(dir, 'agents');
  const agents = parseIn(AgentsFile, af.data, af.file).agents;
  return { queues, agents, sourceHash: routingConfigHash({ queues, agents }) };
}
