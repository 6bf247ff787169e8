import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { OpsEventSink } from '../domain/ops-event.ts';
import type { Logger } from '../log/logger.ts';
import { announceChange, followChanges } from '../redis/change-notices.ts';
import { ConfigEditError, configChanges, withAgent, withoutAgent, withoutQueue, withQueue, type FlowQueueNode } from './config-edits.ts';
import type { FileRoutingConfig, RoutingConfig } from './routing-config.ts';
import type { RoutingStore } from './routing-store.ts';
import { AgentConfigSchema, QueueConfigSchema, RoutingError, type AgentConfig, type QueueConfig } from './types.ts';

/** What is kept in Redis next to the routing state: the config and where it came from. */
const StoredSchema = z.object({
  /** Bumped by every applied change; an instance whose copy is older reloads it before editing. */
  revision: z.number().int().min(1),
  /** Hash of the files this config was seeded from (run-time edits keep it). */
  sourceHash: z.string(),
  updatedAt: z.string(),
  updatedBy: z.string(),
  queues: z.array(QueueConfigSchema),
  agents: z.array(AgentConfigSchema),
});
type Stored = z.infer<typeof StoredSchema>;

/** Long enough for one configure; a crashed holder blocks edits at most this long. */
const LOCK_MS = 10_000;
const LOCK_WAIT_MS = 3_000;
const LOCK_RETRY_MS = 25;
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

export interface RoutingAdminDeps {
  redis: Redis;
  /** The RoutingStore's key prefix: the config lives under the same `${prefix}routing:`. */
  prefix: string;
  store: Pick<RoutingStore, 'configure'>;
  ops: OpsEventSink;
  /** queues.json + agents.json as loaded at startup. */
  files: FileRoutingConfig;
  /**
   * Runs `fn` with the queue nodes of the active flow versions that send callers to `queue`,
   * holding a lock every flow activation (publish, rollback) takes on every instance, so no
   * flow can start naming the queue until `fn` has removed it or refused to.
   */
  withQueueReferences<T>(queue: string, fn: (refs: readonly FlowQueueNode[]) => Promise<T>): Promise<T>;
  log: Logger;
  now(): number;
}

/**
 * Queue and agent configuration at run time. Every change builds the whole next config,
 * validates it, applies it with RoutingStore.configure (one Lua script: a conflict such as
 * dropping a ringing agent changes nothing), then stores it in Redis and appends an ops event
 * per queue or agent changed, with before, after and the actor.
 *
 * Changes from several app instances are serialised by a lock key in Redis, and each starts
 * from the stored config, so no edit is lost. Reads (queueConfig for every call) come from
 * memory; every stored change is announced on a pub/sub channel, and `follow` keeps another
 * instance's memory current from it (also re-read on its next edit or restart).
 */
export class RoutingAdmin {
  private readonly deps: RoutingAdminDeps;
  private readonly key: string;
  private readonly lockKey: string;
  private current: RoutingConfig;
  private revision = 0;

  constructor(deps: RoutingAdminDeps) {
    this.deps = deps;
    this.key = `${deps.prefix}routing:config`;
    this.lockKey = `${deps.prefix}routing:config:lock`;
    this.current = { queues: deps.files.queues, agents: deps.files.agents };
  }

  queue(name: string): QueueConfig | undefined {
    return this.current.queues.find((q) => q.name === name);
  }

  queues(): readonly QueueConfig[] {
    return this.current.queues;
  }

  agent(id: string): AgentConfig | undefined {
    return this.current.agents.find((a) => a.id === id);
  }

  agents(): readonly AgentConfig[] {
    return this.current.agents;
  }

  /**
   * Startup: a stored config seeded from the same files (equal sourceHash) is kept, so edits
   * made through the API survive a restart; when the files changed since, an admin edited them
   * on purpose and they replace the stored config.
   */
  async seed(): Promise<'stored' | 'files'> {
    const { files } = this.deps;
    return this.locked(async () => {
      const stored = await this.read();
      if (stored && stored.sourceHash === files.sourceHash) {
        await this.deps.store.configure(stored.queues, stored.agents);
        this.adopt(stored);
        return 'stored';
      }
      const before = stored ?? { queues: [], agents: [] };
      await this.apply(before, { queues: files.queues, agents: files.agents }, 'file', files.sourceHash, stored?.revision ?? 0);
      return 'files';
    });
  }

  async putQueue(name: string, body: unknown, actor: string): Promise<{ queue: QueueConfig; created: boolean }> {
    return this.edit(actor, (cfg) => withQueue(cfg, name, body), (before) => ({ queue: this.queue(name)!, created: !before.queues.some((q) => q.name === name) }));
  }

  /** The flows' lock is taken first and the config lock inside it, held only for the edit itself. */
  async removeQueue(name: string, actor: string): Promise<void> {
    return this.deps.withQueueReferences(name, (refs) => this.edit(actor, (cfg) => withoutQueue(cfg, name, refs), () => undefined));
  }

  async putAgent(id: string, body: unknown, actor: string): Promise<{ agent: AgentConfig; created: boolean }> {
    return this.edit(actor, (cfg) => withAgent(cfg, id, body), (before) => ({ agent: this.agent(id)!, created: !before.agents.some((a) => a.id === id) }));
  }

  async removeAgent(id: string, actor: string): Promise<void> {
    return this.edit(actor, (cfg) => withoutAgent(cfg, id), () => undefined);
  }

  private async edit<T>(actor: string, change: (cfg: RoutingConfig) => RoutingConfig, result: (before: RoutingConfig) => T): Promise<T> {
    return this.locked(async () => {
      const stored = await this.read();
      if (stored && stored.revision !== this.revision) this.adopt(stored);
      const before = this.current;
      const next = change(before);
      await this.apply(before, next, actor, stored?.sourceHash ?? this.deps.files.sourceHash, stored?.revision ?? this.revision);
      return result(before);
    });
  }

  /** Applies `next` (refused as a whole on conflict), stores it, then records what changed. */
  private async apply(before: RoutingConfig, next: RoutingConfig, actor: string, sourceHash: string, revision: number): Promise<void> {
    try {
      await this.deps.store.configure(next.queues, next.agents);
    } catch (err) {
      if (err instanceof RoutingError && err.code === 'CONFIG_CONFLICT') throw new ConfigEditError('config_conflict', err.message);
      if (err instanceof RoutingError && err.code === 'INVALID_INPUT') {
        throw new ConfigEditError('config_invalid', 'the configuration is not valid; nothing was changed', [{ path: '(config)', message: err.message }]);
      }
      throw err;
    }
    const at = new Date(this.deps.now()).toISOString();
    const stored: Stored = { revision: revision + 1, sourceHash, updatedAt: at, updatedBy: actor, queues: next.queues, agents: next.agents };
    await this.deps.redis.set(this.key, JSON.stringify(stored));
    this.adopt(stored);
    // Other instances re-read the stored config; a lost notice only delays them to their next edit.
    await announceChange(this.deps.redis, this.channel, String(stored.revision));
    for (const c of configChanges(before, next)) {
      this.deps.ops.append({ id: randomUUID(), type: c.type, at, subject: c.subject, data: { ...c.data, actor } });
      this.deps.log.info({ type: c.type, subject: c.subject, actor }, 'routing config changed');
    }
  }

  /** Where stored changes are announced (the revision number). */
  get channel(): string {
    return `${this.key}:changed`;
  }

  /**
   * Keeps this instance's memory current with changes stored by others. `subscriber` is a
   * connection of its own (a subscribed ioredis connection can do nothing else).
   */
  async follow(subscriber: Redis): Promise<void> {
    await followChanges(subscriber, this.channel, (revision) => {
      if (Number(revision) === this.revision) return;
      void this.refresh().catch((err) => this.deps.log.warn({ err: (err as Error).message }, 'routing config refresh failed'));
    });
  }

  /** Adopts the stored config when it is newer than the one in memory. */
  async refresh(): Promise<void> {
    const stored = await this.read();
    if (stored && stored.revision > this.revision) {
      this.adopt(stored);
      this.deps.log.info({ revision: stored.revision }, 'routing config refreshed from another instance');
    }
  }

  private adopt(stored: Stored): void {
    this.current = { queues: stored.queues, agents: stored.agents };
    this.revision = stored.revision;
  }

  /** The stored config, or null when there is none or it no longer validates (the files win then). */
  private async read(): Promise<Stored | null> {
    const raw = await this.deps.redis.get(this.key);
    if (raw === null) return null;
    let doc: unknown;
    try {
      doc = JSON.parse(raw);
    } catch {
      doc = undefined;
    }
    const r = StoredSchema.safeParse(doc);
    if (r.success) return r.data;
    this.deps.log.warn({ key: this.key, problem: r.error.issues[0]?.message ?? 'not JSON' }, 'stored routing config is not valid; ignoring it');
    return null;
  }

  /**
   * Runs `fn` holding the config lock (SET NX with a token, released only by its holder), so
   * two instances never interleave read-apply-store. Waits a little for a running change.
   */
  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    const token = randomUUID();
    const deadline = Date.now() + LOCK_WAIT_MS;
    while ((await this.deps.redis.set(this.lockKey, token, 'PX', LOCK_MS, 'NX')) !== 'OK') {
      if (Date.now() > deadline) throw new ConfigEditError('config_busy', 'another routing configuration change is running; try again');
      await sleep(LOCK_RETRY_MS);
    }
    try {
      return await fn();
    } finally {
      // A failed release only delays the next change until the lock expires.
      await this.deps.redis.eval(RELEASE, 1, this.lockKey, token).catch(() => undefined);
    }
  }
}
