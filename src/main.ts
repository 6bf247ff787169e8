import { randomUUID } from 'node:crypto';
import { Dispatcher } from './calls/dispatcher.ts';
import { clockStartingAt, systemClock } from './calls/call-runner.ts';
import type { Config } from './config/config.ts';
import { buildDemoCrm } from './demo/demo-crm.ts';
import { EmergencyMode } from './flows/emergency-mode.ts';
import { FlowRepository } from './flows/flow-repository.ts';
import { loadFlowDir } from './flows/loader.ts';
import { buildApp } from './http/app.ts';
import { TokenAuth } from './http/auth.ts';
import { AccessStore } from './records/access-store.ts';
import { startAuditBeat } from './records/audit-beat.ts';
import { AuditStore } from './records/audit-store.ts';
import { RateLimiter } from './redis/rate-limiter.ts';
import { TokenRevocations } from './redis/token-revocations.ts';
import { announceChange, followChanges } from './redis/change-notices.ts';
import { OfferRelay } from './routing/offer-relay.ts';
import { HttpServices } from './integrations/http-services.ts';
import { LiveMetrics } from './live/live-metrics.ts';
import { liveKpiOptions } from './kpi/kpi-options.ts';
import { LiveStats } from './live/live-stats.ts';
import { LiveStore } from './live/live-store.ts';
import { tee } from './live/tee.ts';
import { createLogger, type Logger } from './log/logger.ts';
import { createPool, pingPostgres } from './records/db.ts';
import { EventStore } from './records/event-store.ts';
import { EventWriter } from './records/event-writer.ts';
import { AgentIntervalSink } from './records/agent-interval-sink.ts';
import { CallRecordSink } from './records/call-record-sink.ts';
import { ReportStore } from './records/report-store.ts';
import { FlowStore } from './records/flow-store.ts';
import { EmergencyStore } from './records/emergency-store.ts';
import { migrate } from './records/migrate.ts';
import { CallReports } from './reports/call-reports.ts';
import { RedisCallRegistry } from './redis/redis-call-registry.ts';
import { createRedis } from './redis/redis.ts';
import { LogSmsSender, WebhookSmsSender } from './sms/senders.ts';
import { SmsQueue, startSmsWorker } from './sms/sms-queue.ts';
import { AriTelephony } from './telephony/ari/ari-telephony.ts';
import { liveQueueCatalog, queueReferences } from './flows/queue-references.ts';
import { loadRoutingConfig } from './routing/routing-config.ts';
import { RoutingAdmin } from './routing/routing-admin.ts';
import { RoutingService } from './routing/routing-service.ts';
import { RoutingStore } from './routing/routing-store.ts';
import { BullRoutingTimers, type TimerJob } from './routing/routing-timers.ts';

export interface Hotline {
  readonly app: Awaited<ReturnType<typeof buildApp>>;
  readonly log: Logger;
  /** What a call to each number runs on this instance (tests check a change reached every instance). */
  readonly flows: Pick<FlowRepository, 'forNumber'>;
  /** Starts listening: the API and, in development, the demo CRM. */
  listen(): Promise<void>;
  /** Graceful stop: no new calls, drain live ones, flush events, close in reverse order. */
  shutdown(reason: string): Promise<void>;
}

export class FlowsInvalidError extends Error {}

/**
 * The composition root: builds every part from one Config and wires them by constructor.
 * Invalid flow files stop startup (nothing broken goes live). Nothing here blocks on
 * Postgres or Asterisk: both are retried in the background and /ready tells when all is up.
 */
export async function startHotline(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Hotline> {
  const http = new HttpServices(config.httpServices);
  const bundle = await loadFlowDir(config.flowsDir, http.names());
  if (bundle.problems.length) {
    const lines = bundle.problems.flatMap((p) => p.errors.map((e) => `${p.file}: ${e.path}: ${e.message}`));
    throw new FlowsInvalidError(`invalid flows in ${config.flowsDir}:\n  ${lines.join('\n  ')}`);
  }
  const flows = new FlowRepository(bundle);
  const pool = createPool(config.databaseUrl, (err) => log.warn({ err: err.message }, 'postgres idle client error'));
  const accessStore = new AccessStore(pool);
  const auditStore = new AuditStore(pool);
  let stopAuditBeat: (() => void) | undefined;
  const redis = createRedis(config.redis.url);
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis error'));
  const revocations = new TokenRevocations(redis, config.redis.prefix, accessStore, (err) => log.warn({ err: err.message }, 'token revocations: redis not answering'));
  const auth = new TokenAuth(config.apiTokens, { keys: accessStore, jwtSecret: config.jwtSecret, revocations });
  const sms = new SmsQueue(config.redis.url, config.redis.prefix);
  const smsWorker = startSmsWorker(
    config.redis.url,
    config.redis.prefix,
    config.sms.sender === 'webhook' ? new WebhookSmsSender(config.sms.webhookUrl!) : new LogSmsSender(log.child({ part: 'sms' })),
    log,
  );

  const store = new EventStore(pool, {
    retentionDays: config.events.retentionDays,
    callRetentionDays: config.events.callRetentionDays,
    rollupRetentionDays: config.events.rollupRetentionDays,
  });
  // SERVICE_LEVEL_SECONDS / SHORT_ABANDON_SECONDS, and each queue's own thresholds as configured now.
  const kpi = liveKpiOptions(config.kpi, () => routingAdmin.queues());
  const flowStore = new FlowStore(pool);
  // Its ops events go through the live tee built below (only admin requests append them).
  // A flow published or rolled back, a number mapped or emergency mode switched here is announced; the other instances re-read the stored flows, number map and emergency state from Postgres.
  const numbersChannel = `${config.redis.prefix}flows:numbers:changed`;
  const self = randomUUID();
  const announceNumbers = () => void announceChange(redis, numbersChannel, self);
  flows.onStoredChanged(announceNumbers);
  const emergency = new EmergencyMode({ flows, flowStore, store: new EmergencyStore(pool), ops: { append: (e) => opsEvents.append(e) }, changed: announceNumbers, now: () => Date.now() });
  const writerOptions = { redisUrl: config.redis.url, prefix: config.redis.prefix, spoolDir: config.events.spoolDir };
  // Events land as they are; a second consumer group folds them into calls' summaries and rollups (or agents' intervals).
  const writer = new EventWriter(new CallRecordSink(pool, store, kpi, config.timezone), log.child({ part: 'event-writer' }), { ...writerOptions, name: 'call_events' });
  const opsWriter = new EventWriter(new AgentIntervalSink(pool, kpi), log.child({ part: 'ops-event-writer' }), { ...writerOptions, name: 'ops_events' });
  let migrated = false;
  let stopping = false;
  let markRoutingSeeded: () => void = () => undefined;
  const routingSeeded = new Promise<void>((r) => (markRoutingSeeded = r));
  const prepareDatabase = async (attempt = 0): Promise<void> => {
    if (stopping) return;
    try {
      if (config.migrateOnStart) {
        const applied = await migrate(pool);
        if (applied.length) log.info({ applied }, 'migrations applied');
      }
      // Beats for this process's pending audit rows; resolves those of instances that stopped mid-change (a previous life of this one too).
      stopAuditBeat ??= startAuditBeat(auditStore, {
        resolved: (rows) => log.warn({ rows }, "audit rows left pending by a stopped instance resolved as 'interrupted'"),
        failed: (err) => log.warn({ err: err.message }, 'audit writer beat not written'),
      });
      // Stored flows are checked against the live queues: wait until routing has loaded them.
      await routingSeeded;
      const { conflicts } = await flows.sync(flowStore);
      for (const c of conflicts) log.error(c);
      await emergency.load();
      migrated = true;
      writer.start();
      opsWriter.start();
    } catch (err) {
      const delay = Math.min(5_000, 250 * 2 ** attempt);
      log.warn({ err: (err as Error).message, retryInMs: delay }, 'postgres not ready; retrying');
      setTimeout(() => void prepareDatabase(attempt + 1), delay).unref();
    }
  };
  void prepareDatabase();

  const telephony = new AriTelephony({ ...config.ari, subscriptions: ['endpoint:PJSIP'] }, log.child({ part: 'ari' }));
  const routingConfig = await loadRoutingConfig(config.flowsDir);
  const routingStore = new RoutingStore(redis, config.redis.prefix);
  // Every appended call and ops event also feeds live stats (today's counters in Redis, pushed on change).
  const liveSubscriber = redis.duplicate();
  // Calls stamp their events with this clock (CLOCK_FIXED_AT shifts it, for business-hours
  // tests); live stats must count "today" by the same clock, or a shifted call lands on a day
  // the snapshot never reads.
  const clock = config.clockFixedAt ? clockStartingAt(config.clockFixedAt) : systemClock;
  const live: LiveStats = new LiveStats({
    store: new LiveStore(redis, config.redis.prefix),
    queues: () => routingAdmin.queues(),
    subscriber: liveSubscriber,
    timeZone: config.timezone,
    kpi: config.kpi,
    log: log.child({ part: 'live' }),
    now: () => clock.now().getTime(),
    emergency: () => emergency.summary(),
  });
  void live.start().catch((err) => log.warn({ err: (err as Error).message }, 'live stats not following changes'));
  const callEvents = tee(writer, live.recordCall.bind(live), log);
  const opsEvents = tee(opsWriter, live.recordOps.bind(live), log);
  const routingAdmin = new RoutingAdmin({
    redis,
    prefix: config.redis.prefix,
    store: routingStore,
    ops: opsEvents,
    files: routingConfig,
    // From Postgres under the flow activation lock: what every instance has published, and none publishes meanwhile.
    withQueueReferences: (queue, fn) => flowStore.withActiveVersions((active) => fn(queueReferences(active, queue))),
    log: log.child({ part: 'routing-admin' }),
    now: () => Date.now(),
  });
  // Flows published or rolled back name the queues that exist now, not those of queues.json.
  // Publish and rollback re-read them from Redis under the activation lock: a queue another instance removed is gone here too.
  flows.followQueues(
    () => liveQueueCatalog({ queues: routingAdmin.queues(), agents: routingAdmin.agents() }, bundle.catalog.skills),
    () => routingAdmin.refresh(),
  );
  let dispatcher: Dispatcher | null = null;
  // Fired timers go to the routing service built just below (the two need each other).
  let onTimer: (job: TimerJob) => Promise<void> = async () => undefined;
  const routingTimers = new BullRoutingTimers(config.redis.url, config.redis.prefix, config.instanceId, (job) => onTimer(job), log.child({ part: 'routing-timers' }));
  // Offers this instance's claims make for another instance's callers go to that instance.
  const offerRelay = new OfferRelay(redis, config.redis.prefix, config.instanceId);
  // Live calls' registrations: reconcile closes a predecessor's calls with them, routing a gone instance's.
  const callRegistry = new RedisCallRegistry(redis, config.redis.prefix);
  const routing = new RoutingService({
    relay: offerRelay,
    registry: callRegistry,
    store: routingStore,
    queueConfig: (name) => routingAdmin.queue(name),
    ops: opsEvents,
    telephony,
    calls: { notify: (id, input) => dispatcher?.calls.notify(id, input), record: (id, type, data) => dispatcher?.calls.record(id, type, data) },
    log: log.child({ part: 'routing' }),
    instanceId: config.instanceId,
    events: callEvents,
    timers: routingTimers,
    callbackEndpoint: config.callbackEndpoint,
    now: () => Date.now(),
    setTimer: (fn, ms) => {
      const t = setTimeout(fn, ms);
      return { cancel: () => clearTimeout(t) };
    },
  });
  onTimer = (job) => routing.onTimer(job);
  await routingTimers.scheduleDailyReset(config.timezone).catch((err) => log.warn({ err: (err as Error).message }, 'daily reset not scheduled'));
  let routingReady = false;
  const prepareRouting = async (attempt = 0): Promise<void> => {
    if (stopping) return;
    try {
      const source = await routingAdmin.seed();
      log.info({ source }, source === 'stored' ? 'routing config: kept the stored one (files unchanged)' : 'routing config: applied the files');
      // Callback requests this instance left waiting before a restart: only Redis still has them.
      await routing.recover(routingAdmin.queues().map((q) => q.name)).catch((err) => log.error({ err: (err as Error).message }, 'callback requests not restored'));
      // Offers other instances handed over while this one was away.
      await routing.serveForwarded().catch((err) => log.error({ err: (err as Error).message }, 'handed-over offers not served'));
      routingReady = true;
      markRoutingSeeded();
    } catch (err) {
      const delay = Math.min(5_000, 250 * 2 ** attempt);
      log.warn({ err: (err as Error).message, retryInMs: delay }, 'routing not configured yet; retrying');
      setTimeout(() => void prepareRouting(attempt + 1), delay).unref();
    }
  };
  void prepareRouting();
  // Another instance's queue/agent edits reach this one's memory (max wait, overflow, announcements).
  const configFollower = redis.duplicate();
  // Not awaited: with Redis down at startup the subscription waits for it (ioredis resubscribes after reconnects).
  void routingAdmin.follow(configFollower).catch((err) => log.warn({ err: (err as Error).message }, 'not following routing config changes'));
  // Not awaited: with Redis down at startup the first beat waits for it. After each beat, once
  // routing is ready, this instance takes its own list (an offer whose notice was lost) and
  // the offers and rings of instances that are gone are cleared. First, the calls another
  // instance ended while this one was stalled (instance_lost) are hung up here.
  const afterBeat = async () => {
    await dispatcher?.hangUpCallsEndedElsewhere().catch((err) => log.warn({ err: (err as Error).message }, 'calls ended elsewhere not looked for; the next beat tries again'));
    if (routingReady) await routing.afterBeat();
  };
  void offerRelay.start(afterBeat).catch((err) => log.warn({ err: (err as Error).message }, 'instance beat not started'));
  void offerRelay
    .follow(configFollower, () => {
      if (routingReady) void routing.serveForwarded().catch((err) => log.error({ err: (err as Error).message }, 'handed-over offers not served'));
    })
    .catch((err) => log.warn({ err: (err as Error).message }, 'not following offers handed over by other instances'));
  // One reload at a time, in the order of the notices: the last one reads the latest state.
  let numbersReload = Promise.resolve();
  const reloadStored = () =>
    flows
      .reloadStored(flowStore)
      .then(({ conflicts }) => conflicts.length && log.warn({ conflicts }, 'flows published elsewhere do not validate here; kept the previous versions'))
      .then(() => emergency.reload());
  void followChanges(configFollower, numbersChannel, (from) => {
    if (from === self) return;
    numbersReload = numbersReload.then(reloadStored).catch((err) => log.warn({ err: (err as Error).message }, 'flows and number map not reloaded after another instance changed them'));
  }).catch((err) => log.warn({ err: (err as Error).message }, 'not following number map changes'));
  dispatcher = new Dispatcher({
    telephony,
    events: callEvents,
    registry: callRegistry,
    clock,
    flows,
    http,
    sms,
    queues: {
      enqueue: (r) => (routingReady ? routing.enqueue(r) : Promise.resolve({ ok: false as const, reason: 'routing is not configured yet' })),
      leave: (id, reason) => routing.leave(id, reason),
      callEnded: (id) => routing.callEnded(id),
      requestCallback: (id) => routing.requestCallback(id),
    },
    agents: routing,
    log,
  });
  dispatcher.attach();
  telephony.start();

  const reportStore = new ReportStore(pool);
  const reports = new CallReports({
    source: reportStore,
    timezone: config.timezone,
    kpi,
    queuesWithSkill: (skill) => routingAdmin.queues().filter((q) => q.skills.some((s) => s.skill === skill)).map((q) => q.name),
  });
  const app = await buildApp({
    logger: log,
    readiness: {
      ari: () => telephony.isConnected(),
      postgres: () => pingPostgres(pool),
      redis: async () => (await redis.ping().catch(() => null)) === 'PONG',
      migrated: () => migrated && writer.healthy && opsWriter.healthy && routingReady,
    },
    flows: { flows, store: flowStore, auth },
    agents: { routing, store: routingStore, auth },
    routingAdmin: { admin: routingAdmin, auth },
    reports: { reports, source: reportStore, timezone: config.timezone, auth },
    live: { live, metrics: new LiveMetrics(live, [{ name: 'call_events', backlog: () => writer.backlog(), foldBacklog: () => writer.foldBacklog() }, { name: 'ops_events', backlog: () => opsWriter.backlog(), foldBacklog: () => opsWriter.foldBacklog() }]), auth, metricsToken: config.metricsToken },
    emergency: { emergency, auth },
    access: {
      store: accessStore,
      auth,
      revocations,
      limits: {
        limiter: new RateLimiter(redis, config.redis.prefix),
        perPrincipal: config.rateLimit.perPrincipalPerMinute ? { limit: config.rateLimit.perPrincipalPerMinute, windowMs: 60_000 } : null,
        perIp: config.rateLimit.perIpPerMinute ? { limit: config.rateLimit.perIpPerMinute, windowMs: 60_000 } : null,
      },
    },
    audit: {
      store: auditStore,
      auth,
      readers: {
        queue: (name) => routingAdmin.queue(name) ?? null,
        agent: (id) => routingAdmin.agent(id) ?? null,
      },
    },
  });
  const demoCrm = config.demoCrm ? buildDemoCrm() : null;

  return {
    app,
    log,
    flows,
    async listen() {
      await app.listen({ host: config.http.host, port: config.http.port });
      if (demoCrm && config.demoCrm) await demoCrm.listen({ host: '127.0.0.1', port: config.demoCrm.port });
    },
    async shutdown(reason) {
      if (stopping) return;
      stopping = true;
      log.info({ reason, liveCalls: dispatcher?.liveCalls }, 'shutting down');
      await app.close();
      stopAuditBeat?.();
      await dispatcher?.drain(config.shutdownDrainMs);
      await telephony.stop();
      const [flushed, opsFlushed] = await Promise.all([writer.drain(config.shutdownDrainMs), opsWriter.drain(config.shutdownDrainMs)]);
      if (!flushed || !opsFlushed) log.warn({ pending: writer.pending, opsPending: opsWriter.pending }, 'stopping before every event reached Postgres; the rest waits in Redis or the spool');
      await Promise.all([writer.close(), opsWriter.close()]);
      await demoCrm?.close();
      await smsWorker.close();
      await routingTimers.close();
      offerRelay.stop();
      await sms.close();
      configFollower.disconnect();
      live.close();
      liveSubscriber.disconnect();
      redis.disconnect();
      await pool.end();
      log.info('stopped');
    },
  };
}
