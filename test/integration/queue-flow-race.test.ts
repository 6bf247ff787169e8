import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { ownDatabase } from './helpers/own-database.ts';
import { FlowRejected, FlowRepository } from '../../src/flows/flow-repository.ts';
import { loadFlowDir, type FlowBundle } from '../../src/flows/loader.ts';
import { liveQueueCatalog, queueReferences } from '../../src/flows/queue-references.ts';
import { createLogger } from '../../src/log/logger.ts';
import { FlowStore } from '../../src/records/flow-store.ts';
import { migrate } from '../../src/records/migrate.ts';
import { ConfigEditError } from '../../src/routing/config-edits.ts';
import { RoutingAdmin } from '../../src/routing/routing-admin.ts';
import { loadRoutingConfig, type FileRoutingConfig } from '../../src/routing/routing-config.ts';
import { RoutingStore } from '../../src/routing/routing-store.ts';

const FLOWS_DIR = resolve(import.meta.dirname, '../../ivr-flows');
const ROUNDS = 50;
/** How long a removal waits between its "no active flow names it" check and the change: the window a publish elsewhere could slip through. */
const HOLD_MS = 15;

/**
 * DELETE /queues/:name on one instance and a flow publish or rollback on another, at the same
 * time, on one database and one Redis. Each instance is wired as main.ts wires it (its own
 * pool, FlowStore, FlowRepository and RoutingAdmin); the removal is slowed between its check
 * and its change so that, without the shared lock, a publish lands in between.
 */
describe('queue removal and flow activation on two instances (real Postgres and Redis)', () => {
  const redis = new Redis(inject('redisUrl'));
  const prefix = `${inject('redisPrefix')}qfr-${randomUUID().slice(0, 6)}:`;
  const pools: pg.Pool[] = [];
  let db: Awaited<ReturnType<typeof ownDatabase>>;
  let bundle: FlowBundle;
  let files: FileRoutingConfig;

  beforeAll(async () => {
    db = await ownDatabase('qfrace');
    bundle = await loadFlowDir(FLOWS_DIR, ['crm']);
    files = await loadRoutingConfig(FLOWS_DIR);
  });
  afterAll(async () => {
    for (const p of pools) await p.end();
    await db.drop();
    await redis.quit();
  });

  async function instance() {
    const pool = new pg.Pool({ connectionString: db.url });
    pools.push(pool);
    const store = new FlowStore(pool);
    const flows = new FlowRepository(bundle);
    const admin: RoutingAdmin = new RoutingAdmin({
      redis,
      prefix,
      store: new RoutingStore(redis, prefix),
      ops: { append: () => undefined },
      files,
      withQueueReferences: (q, fn) =>
        store.withActiveVersions(async (active) => {
          const refs = queueReferences(active, q);
          await sleep(HOLD_MS);
          return fn(refs);
        }),
      log: createLogger('silent'),
      now: () => Date.now(),
    });
    // No pub/sub follower: an instance learns another's queue changes only through refresh.
    flows.followQueues(() => liveQueueCatalog({ queues: admin.queues(), agents: admin.agents() }, bundle.catalog.skills), () => admin.refresh());
    return { store, flows, admin };
  }

  const queueFlow = (id: string, queue: string) => ({
    id,
    version: 1,
    name: 'race test',
    language: 'zh',
    start: 'wait',
    nodes: { wait: { type: 'queue', queue, skills: [], next: 'bye' }, bye: { type: 'hangup', reason: 'completed' } },
  });
  const plainFlow = (id: string) => ({ id, version: 1, name: 'race test', language: 'zh', start: 'bye', nodes: { bye: { type: 'hangup', reason: 'completed' } } });
  const queueBody = { skills: [{ skill: 'general', minProficiency: 1 }], strategy: 'longest-idle', ringTimeoutSeconds: 15, wrapUpSeconds: 10, maxWaitSeconds: 300, agingPerMinute: 1 };

  /** Fulfilled -> true; the refusal each side may give when the other won -> false; anything else fails the test. */
  const outcome = async (p: Promise<unknown>, refused: (err: unknown) => boolean): Promise<boolean> =>
    p.then(
      () => true,
      (err: unknown) => {
        if (refused(err)) return false;
        throw err;
      },
    );

  it(`${ROUNDS} rounds of remove vs publish / rollback: never an active flow naming a removed queue`, async () => {
    const [a, b] = [await instance(), await instance()];
    await migrate(pools[0]!);
    await a.admin.seed();
    await a.flows.sync(a.store);
    await b.flows.sync(b.store);
    const wins = { removed: 0, activated: 0 };

    for (let round = 0; round < ROUNDS; round++) {
      const queue = `race-${round}-${randomUUID().slice(0, 4)}`;
      const id = `race-${round}-${randomUUID().slice(0, 4)}`;
      const rollback = round % 2 === 1;
      await a.admin.putQueue(queue, queueBody, 'test');
      await b.admin.refresh(); // b knows the queue, as its follower would tell it
      if (rollback) {
        // Version 1 sends callers to the queue, version 2 does not: rolling back names it again.
        await b.flows.publish(b.store, queueFlow(id, queue), 'test');
        await b.flows.publish(b.store, plainFlow(id), 'test');
      }

      const removal = (async () => {
        await sleep(Math.random() * HOLD_MS);
        return a.admin.removeQueue(queue, 'test');
      })();
      const activation = (async () => {
        await sleep(Math.random() * HOLD_MS);
        return rollback ? b.flows.rollback(b.store, id, 1, 'test') : b.flows.publish(b.store, queueFlow(id, queue), 'test');
      })();
      const [removed, activated] = await Promise.all([
        outcome(removal, (err) => err instanceof ConfigEditError && err.errorId === 'queue_in_use'),
        outcome(activation, (err) => err instanceof FlowRejected && err.errors.some((e) => e.message === `unknown queue "${queue}"`)),
      ]);

      // The truth, not either instance's memory: the stored routing config and the active versions in Postgres.
      await a.admin.refresh();
      const exists = a.admin.queue(queue) !== undefined;
      const named = await a.store.withActiveVersions(async (active) => queueReferences(active, queue));
      const state = { round, rollback, removed, activated, exists, named };
      expect(named.length > 0 && !exists, `an active flow names removed queue: ${JSON.stringify(state)}`).toBe(false);
      expect(removed !== activated, `exactly one side wins: ${JSON.stringify(state)}`).toBe(true);
      expect(exists, JSON.stringify(state)).toBe(!removed);
      if (removed) wins.removed++;
      else wins.activated++;
    }
    // Both orders happened, so both checks were exercised against the other's change.
    expect(wins.removed).toBeGreaterThan(0);
    expect(wins.activated).toBeGreaterThan(0);
  }, 60_000);
});
