import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import type { OpsEventType } from '../domain/ops-event.ts';
import type { RoutingConfig } from './routing-config.ts';
import { AgentConfigSchema, QueueConfigSchema, type AgentConfig, type QueueConfig } from './types.ts';

/**
 * The pure half of run-time routing configuration: each edit builds the whole next config
 * from the current one (or says why it cannot), and `configChanges` lists what an applied
 * config changed, as ops events. No I/O here; RoutingAdmin applies and stores the result.
 */

export type ConfigErrorId = 'config_invalid' | 'queue_not_found' | 'agent_not_found' | 'config_conflict' | 'queue_in_use' | 'config_busy';

const STATUS: Record<ConfigErrorId, number> = {
  config_invalid: 422,
  queue_not_found: 404,
  agent_not_found: 404,
  config_conflict: 409,
  queue_in_use: 409,
  config_busy: 409,
};

export interface ConfigIssue {
  /** JSON path inside the request body (`skills.0.minProficiency`), or `name` / `id` for the URL's part. */
  readonly path: string;
  readonly message: string;
}

/** A refused configuration change; nothing was changed. */
export class ConfigEditError extends Error {
  readonly errorId: ConfigErrorId;
  readonly status: number;
  readonly errors: readonly ConfigIssue[];

  constructor(errorId: ConfigErrorId, message: string, errors: readonly ConfigIssue[] = []) {
    super(message);
    this.name = 'ConfigEditError';
    this.errorId = errorId;
    this.status = STATUS[errorId];
    this.errors = errors;
  }
}

/** A queue as the API takes it: the name comes from the URL. */
export const QueueBodySchema = QueueConfigSchema.omit({ name: true });
/** An agent's configuration as the API takes it: the id comes from the URL. */
export const AgentBodySchema = AgentConfigSchema.omit({ id: true });

/** Creates or replaces queue `name`. Its move-overflow targets must be other existing queues. */
export function withQueue(cfg: RoutingConfig, name: string, body: unknown): RoutingConfig {
  const issues = [...issuesOf(QueueConfigSchema.shape.name.safeParse(name).error, ['name']), ...issuesOf(QueueBodySchema.safeParse(body).error, [])];
  if (issues.length) throw invalid(issues);
  const queue: QueueConfig = { name, ...QueueBodySchema.parse(body) };
  const names = new Set([...cfg.queues.map((q) => q.name), name]);
  const targets = queue.overflow.flatMap((o, i) =>
    o.action === 'move' && (o.queue === name || !names.has(o.queue))
      ? [{ path: `overflow.${i}.queue`, message: o.queue === name ? 'a queue cannot overflow to itself' : `no queue "${o.queue}"` }]
      : [],
  );
  if (targets.length) throw invalid(targets);
  const exists = cfg.queues.some((q) => q.name === name);
  return { ...cfg, queues: exists ? cfg.queues.map((q) => (q.name === name ? queue : q)) : [...cfg.queues, queue] };
}

/** A queue node of an active flow version that names a queue. */
export interface FlowQueueNode {
  readonly flow: string;
  readonly version: number;
  readonly node: string;
}

/**
 * Removes queue `name`. Refused (`queue_in_use`, one error per user naming the flow and node
 * or the queue) while an active flow's queue node sends callers to it or another queue
 * overflows to it: both would route calls to a queue that is gone.
 */
export function withoutQueue(cfg: RoutingConfig, name: string, flowNodes: readonly FlowQueueNode[]): RoutingConfig {
  if (!cfg.queues.some((q) => q.name === name)) throw new ConfigEditError('queue_not_found', `no queue ${name}`);
  const users = [
    ...flowNodes.map((r) => ({
      label: `flow ${r.flow} node ${r.node}`,
      issue: { path: `flows.${r.flow}.nodes.${r.node}`, message: `flow ${r.flow} (active version ${r.version}) sends callers to queue ${name} at node ${r.node}` },
    })),
    ...cfg.queues
      .filter((q) => q.overflow.some((o) => o.action === 'move' && o.queue === name))
      .map((q) => ({ label: `queue ${q.name} (overflow)`, issue: { path: `queues.${q.name}.overflow`, message: `queue ${q.name} overflows to queue ${name}` } })),
  ];
  if (users.length) {
    throw new ConfigEditError('queue_in_use', `queue ${name} is used by ${users.map((u) => u.label).join(', ')}`, users.map((u) => u.issue));
  }
  return { ...cfg, queues: cfg.queues.filter((q) => q.name !== name) };
}

/** Creates or replaces agent `id`'s endpoint and skills (its state is the store's and is kept). */
export function withAgent(cfg: RoutingConfig, id: string, body: unknown): RoutingConfig {
  const issues = [...issuesOf(AgentConfigSchema.shape.id.safeParse(id).error, ['id']), ...issuesOf(AgentBodySchema.safeParse(body).error, [])];
  if (issues.length) throw invalid(issues);
  const agent: AgentConfig = { id, ...AgentBodySchema.parse(body) };
  const exists = cfg.agents.some((a) => a.id === id);
  return { ...cfg, agents: exists ? cfg.agents.map((a) => (a.id === id ? agent : a)) : [...cfg.agents, agent] };
}

export function withoutAgent(cfg: RoutingConfig, id: string): RoutingConfig {
  if (!cfg.agents.some((a) => a.id === id)) throw new ConfigEditError('agent_not_found', `no agent ${id}`);
  return { ...cfg, agents: cfg.agents.filter((a) => a.id !== id) };
}

export interface ConfigChange {
  readonly type: Extract<OpsEventType, `routing.${string}`>;
  readonly subject: string;
  readonly data: {
    readonly queue?: string;
    readonly agentId?: string;
    readonly before: QueueConfig | AgentConfig | null;
    readonly after: QueueConfig | AgentConfig | null;
  };
}

/** One change per queue or agent that was added, edited or removed; none for what stayed equal. */
export function configChanges(before: RoutingConfig, after: RoutingConfig): ConfigChange[] {
  const out: ConfigChange[] = [];
  const diff = <T>(a: readonly T[], b: readonly T[], key: (x: T) => string, emit: (k: string, was: T | null, now: T | null) => void) => {
    const old = new Map(a.map((x) => [key(x), x]));
    const next = new Map(b.map((x) => [key(x), x]));
    for (const [k, now] of next) if (!isDeepStrictEqual(old.get(k), now)) emit(k, old.get(k) ?? null, now);
    for (const [k, was] of old) if (!next.has(k)) emit(k, was, null);
  };
  diff(before.queues, after.queues, (q) => q.name, (name, was, now) =>
    out.push({ type: now ? 'routing.queue_changed' : 'routing.queue_removed', subject: `queue:${name}`, data: { queue: name, before: was, after: now } }),
  );
  diff(before.agents, after.agents, (a) => a.id, (id, was, now) =>
    out.push({ type: now ? 'routing.agent_changed' : 'routing.agent_removed', subject: `agent:${id}`, data: { agentId: id, before: was, after: now } }),
  );
  return out;
}

function invalid(errors: ConfigIssue[]): ConfigEditError {
  return new ConfigEditError('config_invalid', 'the configuration is not valid; nothing was changed', errors);
}

function issuesOf(error: z.ZodError | undefined, prefix: PropertyKey[]): ConfigIssue[] {
  return (error?.issues ?? []).map((i) => ({ path: [...prefix, ...i.path].map(String).join('.') || '(root)', message: i.message }));
}
